/** The operator actions an order's timeline records (src/db/operator-actions.ts). */
export const OPERATOR_ACTIONS = [
  'cancel',
  'retry',
  'requeue',
  'redrive',
  'clean',
  'refund',
  'receive-return',
  'reject-return',
  'cancel-return',
] as const;
export type OperatorAction = (typeof OPERATOR_ACTIONS)[number];
