/**
 * A simulated payment gateway that behaves like a real provider: charges and refunds are
 * deduplicated by idempotency key and kept in its own ledger (sandbox_* tables). A charge may be
 * refunded several times, each refund under its own key, never for more than was charged in all.
 *
 * Test tokens choose the outcome: `tok_visa` succeeds, `tok_chargeDeclined` is declined,
 * `tok_flaky` fails transiently twice and then succeeds, `tok_slow` captures at once but answers
 * only after the payment timeout, `tok_gatewayDown` fails transiently every time (a gateway down
 * for longer than the retries last: its job ends in the failed set). Any other token is declined
 * as invalid. Like a real provider, it
 * answers a retry of a charge that is still being worked on with a transient "in progress" error.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { eq, sql } from 'drizzle-orm';
import { prepared, writeTx, type Db, type Tx } from '../db/client.ts';
import { forUpdate } from '../db/dialect.ts';
import { placeholder, placeholderSql } from '../db/statements.ts';
import { sandboxTables, type SandboxTables } from './tables/index.ts';
import {
  TransientGatewayError,
  type ChargeOutcome,
  type ChargeRequest,
  type PaymentGateway,
  type RefundRequest,
} from '../domain/ports.ts';

export interface SandboxPaymentOptions {
  /** Added to every answer. */
  latencyMs: number;
  /** How late `tok_slow` answers. */
  slowAnswerMs: number;
  now?: () => number;
}

const FLAKY_FAILURES = 2;

/** The token for which the gateway is down, whatever the attempt. */
export const GATEWAY_DOWN_TOKEN = 'tok_gatewayDown';

type Decision = ChargeOutcome | { outcome: 'transient' };

export class SandboxPaymentGateway implements PaymentGateway {
  private readonly now: () => number;
  private readonly ledgers: SandboxTables;

  constructor(
    private readonly db: Db,
    private readonly options: SandboxPaymentOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.ledgers = sandboxTables(db);
  }

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    await this.latency();
    const decision = await writeTx(this.db, (tx) => this.decide(tx, request));
    if (request.token === 'tok_slow' && decision.outcome === 'captured') {
      await sleep(this.options.slowAnswerMs);
    }
    if (decision.outcome === 'transient') {
      throw new TransientGatewayError('payment gateway unavailable, try again');
    }
    return decision;
  }

  async void(request: { idempotencyKey: string; orderId: string }): Promise<ChargeOutcome> {
    await this.latency();
    const { sandboxPaymentIntents } = this.ledgers;
    return writeTx(this.db, async (tx): Promise<ChargeOutcome> => {
      const [intent] = await prepared(tx, build).intent.execute({ key: request.idempotencyKey });
      if (!intent) {
        await tx.insert(sandboxPaymentIntents).values({
          idempotencyKey: request.idempotencyKey,
          orderId: request.orderId,
          amountCents: 0,
          outcome: 'voided',
          attempts: 0,
          createdAt: this.now(),
        });
        return { outcome: 'voided' };
      }
      if (intent.outcome === 'pending') {
        await tx
          .update(sandboxPaymentIntents)
          .set({ outcome: 'voided' })
          .where(eq(sandboxPaymentIntents.idempotencyKey, request.idempotencyKey));
        return { outcome: 'voided' };
      }
      return toOutcome(intent);
    });
  }

  async refund(request: RefundRequest): Promise<{ refundId: string }> {
    await this.latency();
    const { sandboxCharges, sandboxRefunds } = this.ledgers;
    return writeTx(
      this.db,
      async (tx) => {
        const [existing] = await tx
          .select()
          .from(sandboxRefunds)
          .where(eq(sandboxRefunds.idempotencyKey, request.idempotencyKey));
        if (existing) return { refundId: existing.id };
        // Locked (on PostgreSQL), so that two refunds of one charge at once are summed one after the other.
        const [charge] = await forUpdate(tx, tx.select().from(sandboxCharges).where(eq(sandboxCharges.id, request.chargeId)));
        if (!charge) throw new Error(`sandbox gateway: no charge ${request.chargeId} to refund`);
        // Like a real provider: a charge takes several refunds, each under its own key, that
        // together never pass what was charged.
        const [{ refunded }] = (await tx
          .select({ refunded: sql<number>`coalesce(sum(${sandboxRefunds.amountCents}), 0)` })
          .from(sandboxRefunds)
          .where(eq(sandboxRefunds.chargeId, charge.id))) as [{ refunded: number }];
        if (request.amountCents <= 0 || Number(refunded) + request.amountCents > charge.amountCents) {
          throw new Error(
            `sandbox gateway: refund of ${request.amountCents} on charge ${charge.id} of ${charge.amountCents}, ${refunded} refunded already`,
          );
        }
        const refundId = `re_${randomBytes(8).toString('hex')}`;
        await tx.insert(sandboxRefunds).values({
          id: refundId,
          idempotencyKey: request.idempotencyKey,
          orderId: request.orderId,
          chargeId: charge.id,
          amountCents: request.amountCents,
          createdAt: this.now(),
        });
        return { refundId };
        // At READ COMMITTED, the sum after the charge's lock sees the refunds committed before it.
      },
      { isolation: 'read committed' },
    );
  }

  private async decide(tx: Tx, request: ChargeRequest): Promise<Decision> {
    const [intent] = await prepared(tx, build).intent.execute({ key: request.idempotencyKey });
    if (intent && request.token === 'tok_slow' && this.now() < intent.createdAt + this.options.slowAnswerMs) {
      return { outcome: 'transient' };
    }
    if (intent && intent.outcome !== 'pending') return toOutcome(intent);

    const attempts = (intent?.attempts ?? 0) + 1;
    let outcome: ChargeOutcome | { outcome: 'pending' };
    if (request.token === 'tok_flaky' && attempts <= FLAKY_FAILURES) outcome = { outcome: 'pending' };
    else if (request.token === GATEWAY_DOWN_TOKEN) outcome = { outcome: 'pending' };
    else if (request.token === 'tok_visa' || request.token === 'tok_slow' || request.token === 'tok_flaky') {
      outcome = { outcome: 'captured', chargeId: await this.capture(tx, request) };
    } else if (request.token === 'tok_chargeDeclined') outcome = { outcome: 'declined', code: 'card_declined' };
    else outcome = { outcome: 'declined', code: 'invalid_token' };

    const row = {
      idempotencyKey: request.idempotencyKey,
      orderId: request.orderId,
      amountCents: request.amountCents,
      outcome: outcome.outcome,
      attempts,
      chargeId: outcome.outcome === 'captured' ? outcome.chargeId : null,
      declineCode: outcome.outcome === 'declined' ? outcome.code : null,
      createdAt: this.now(),
    };
    await prepared(tx, build).recordIntent.execute(row);
    return outcome.outcome === 'pending' ? { outcome: 'transient' } : outcome;
  }

  private async capture(tx: Tx, request: ChargeRequest): Promise<string> {
    const id = `ch_${randomBytes(8).toString('hex')}`;
    await prepared(tx, build).capture.execute({
      id,
      idempotencyKey: request.idempotencyKey,
      orderId: request.orderId,
      amountCents: request.amountCents,
      createdAt: this.now(),
    });
    return id;
  }

  private async latency(): Promise<void> {
    if (this.options.latencyMs > 0) await sleep(this.options.latencyMs);
  }
}

function toOutcome(intent: SandboxTables['sandboxPaymentIntents']['$inferSelect']): ChargeOutcome {
  switch (intent.outcome) {
    case 'captured':
      return { outcome: 'captured', chargeId: intent.chargeId! };
    case 'declined':
      return { outcome: 'declined', code: intent.declineCode ?? 'card_declined' };
    default:
      return { outcome: 'voided' };
  }
}

/** The statements of every charge, prepared once per connection. */
function build(db: Db) {
  const excluded = (column: { name: string }) => sql.raw(`excluded.${column.name}`);
  const { sandboxPaymentIntents: t, sandboxCharges } = sandboxTables(db);
  return {
    intent: db
      .select()
      .from(t)
      .where(eq(t.idempotencyKey, placeholderSql('key')))
      .prepare('sandbox_intent'),
    capture: db
      .insert(sandboxCharges)
      .values({
        id: placeholder('id'),
        idempotencyKey: placeholder('idempotencyKey'),
        orderId: placeholder('orderId'),
        amountCents: placeholder('amountCents'),
        createdAt: placeholder('createdAt'),
      })
      .prepare('sandbox_capture'),
    recordIntent: db
      .insert(t)
      .values({
        idempotencyKey: placeholder('idempotencyKey'),
        orderId: placeholder('orderId'),
        amountCents: placeholder('amountCents'),
        outcome: placeholder('outcome'),
        attempts: placeholder('attempts'),
        chargeId: placeholder('chargeId'),
        declineCode: placeholder('declineCode'),
        createdAt: placeholder('createdAt'),
      })
      .onConflictDoUpdate({
        target: t.idempotencyKey,
        set: {
          orderId: excluded(t.orderId),
          amountCents: excluded(t.amountCents),
          outcome: excluded(t.outcome),
          attempts: excluded(t.attempts),
          chargeId: excluded(t.chargeId),
          declineCode: excluded(t.declineCode),
          createdAt: excluded(t.createdAt),
        },
      })
      .prepare('sandbox_intent_record'),
  };
}
