/**
 * The operator-action and failed-attempt tables as the code names them, bound to the definitions
 * of the engine the process opened (src/db/engine-binding.ts; the definitions are in
 * ./tables/operations/, with the same row types in both engines).
 */
import { onEngine, unbound } from './engine-binding.ts';
import * as postgres from './tables/operations/postgres.ts';
import * as sqlite from './tables/operations/sqlite.ts';

type Tables = Pick<typeof postgres, 'operatorActions' | 'failedAttempts'>;

export let operatorActions: Tables['operatorActions'] = unbound('operatorActions');
export let failedAttempts: Tables['failedAttempts'] = unbound('failedAttempts');

onEngine((engine) => {
  // The SQLite definitions have the PostgreSQL ones' row types; only drizzle's dialect tag differs.
  const chosen = (engine === 'sqlite' ? sqlite : postgres) as unknown as Tables;
  ({ operatorActions, failedAttempts } = chosen);
});
