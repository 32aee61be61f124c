/**
 * A simulated notifier: records every message it sends (channel, kind, order) and logs it. A
 * message whose idempotency key was seen before is not sent again. It refuses the recipient
 * UNREACHABLE_RECIPIENT (the sandbox's recipient is the customer id) every time, as a notifier
 * that is down for one customer: the notification job fails until its attempts run out.
 */
import type { Logger } from 'pino';
import { prepared, writeOne, type Db } from '../db/client.ts';
import { rowsChanged } from '../db/dialect.ts';
import { placeholder } from '../db/statements.ts';
import { sandboxTables } from './tables/index.ts';
import type { Notifier } from '../domain/ports.ts';
import { TransientError } from '../domain/errors.ts';

export const UNREACHABLE_RECIPIENT = 'cus_unreachable';

class RecipientUnreachableError extends TransientError {
  override readonly name = 'RecipientUnreachableError';
}

export class SandboxNotifier implements Notifier {
  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async send(message: Parameters<Notifier['send']>[0]): Promise<void> {
    if (message.channel === 'email' && message.recipient === UNREACHABLE_RECIPIENT) {
      throw new RecipientUnreachableError(`notifier cannot reach ${UNREACHABLE_RECIPIENT} (sandbox)`);
    }
    const changes = await writeOne(this.db, async (db) =>
      rowsChanged(await prepared(db, build).record.execute({ ...message, sentAt: this.now() })),
    );
    if (changes > 0) {
      this.logger.info(
        { orderId: message.orderId, kind: message.kind, channel: message.channel, recipient: message.recipient },
        'notification sent',
      );
    }
  }
}

function build(db: Db) {
  const { sandboxNotifications } = sandboxTables(db);
  return {
    record: db
      .insert(sandboxNotifications)
      .values({
        idempotencyKey: placeholder('idempotencyKey'),
        orderId: placeholder('orderId'),
        kind: placeholder('kind'),
        channel: placeholder('channel'),
        recipient: placeholder('recipient'),
        sentAt: placeholder('sentAt'),
      })
      .onConflictDoNothing({ target: sandboxNotifications.idempotencyKey })
      .prepare('sandbox_notification_record'),
  };
}
