/**
 * One way to do work at a provider: a declared step, run by one runner (a recorded step, as
 * DBOS's: look up, run, record). Charge, void, refund, shipment and notification are each the same
 * three pieces, and a new one is a declaration, not another hand-written copy of them:
 *
 * 1. `plan(tx, input, now)`, in a write transaction: checks what the database says is still to do
 *    (and may move the order, PaymentRequested say), answering a Plan, or `skip(why)` to do nothing;
 *    or `look(db, input, now)`, the same from committed rows, for a plan that moves nothing;
 * 2. `call(plan, provider)`, outside any transaction: the provider call, carrying the idempotency
 *    key the plan gives, so that a second run of the step gets the first run's answer;
 * 3. `record(tx, plan, outcome, now)`, in a second write transaction: what the provider answered,
 *    business outcomes (a decline, a refusal) included; or `recordOne`, one statement on its own.
 * Ship, refund, void and notify only look, and a sent message is one statement: each transaction
 * is a write lock taken on SQLite and a BEGIN/COMMIT on PostgreSQL, on every order.
 *
 * The runner owns what every step needs and none should write again: both transactions; the
 * provider's deadline (PROVIDER_TIMEOUT_MS) and its CLIENT span, on every call (the providers a
 * call is handed are only ever the timed, traced ones); a lease for a step that declares a lock,
 * taken between a first plan and a second one under it; a compensation at the provider when the
 * record found the answer of no use; and what the job's span says of the step. "No network call
 * inside a transaction" is its property: plan and record get a handle and data, never a provider,
 * and the call gets providers, never a handle.
 *
 * Failures are the failure policy's (failure-policy.ts, applied by the worker): an error the call
 * throws leaves the plan's transaction committed and goes up as it is, a transient one to be
 * retried (the same key makes the retry safe whatever became of the first call); a refusal that is
 * no error (a decline, a 5xx from a mail server) is an outcome, and recorded. A step that must stop
 * for good throws an UnrecoverableError (or an InvariantViolation).
 */
import type { Db, Tx, TxOptions } from '../db/client.ts';
import { writeOne, writeTx } from '../db/client.ts';
import type { Carrier, Mailer, Notifier, PaymentGateway } from '../domain/ports.ts';
import type { Lease, LeaseHandle } from '../queues/lease.ts';
import { traceProviders } from '../telemetry/providers.ts';
import { annotateSpan, tracingEnabled } from '../telemetry/tracing.ts';
import { timedCarrier, timedGateway, timedNotifier } from './provider-timeouts.ts';

/** The providers a step's call may use: the outside world, each call timed and traced. */
export interface Provider {
  gateway: PaymentGateway;
  carrier: Carrier;
  notifier: Notifier;
  /** Present when SMTP_URL is set. */
  mailer?: Mailer;
  /** The step's lease, when it declared a lock: ask `held()` right before the effect it guards. */
  lease?: Pick<LeaseHandle, 'held'>;
}

/** A plan that finds nothing to do; `why` is what the job answers. */
export interface Skip {
  readonly skip: string;
}

export function skip(why: string): Skip {
  return { skip: why };
}

function isSkip(value: unknown): value is Skip {
  return typeof value === 'object' && value !== null && 'skip' in value && typeof value.skip === 'string';
}

/**
 * How a step decides what to do. `plan` runs in a write transaction, for a step whose plan moves
 * the order (PaymentRequested before a charge); `look` reads committed rows on the database
 * handle, for a step whose plan only looks (the record checks the order again before it acts, so
 * a look that is stale by then costs a provider call the key makes harmless, never a second
 * effect). A look takes no write lock on SQLite and no BEGIN/COMMIT on PostgreSQL.
 */
type Planning<I, P> =
  | { plan(tx: Tx, input: I, now: number): Promise<P | Skip>; look?: never }
  | { look(db: Db, input: I, now: number): Promise<P | Skip>; plan?: never };

/**
 * How a step records the answer. `record` runs in a write transaction; `recordOne` runs one
 * write statement (writeOne: on PostgreSQL without BEGIN/COMMIT), and may open a transaction of
 * its own with writeTx on the handle it is given when an outcome needs more than one.
 */
type Recording<P, O, R> =
  | { record(tx: Tx, plan: P, outcome: O, now: number): Promise<R>; recordOne?: never }
  | { recordOne(handle: Db | Tx, plan: P, outcome: O, now: number): Promise<R>; record?: never };

/** What every step declares beside its planning and recording. */
interface StepParts<P, O, R> {
  /** Names the step in logs and on the job's span: 'charge', 'void', 'refund', 'ship', 'notify'. */
  readonly id: string;
  call(plan: P, provider: Provider): Promise<O>;
  /** What the job answers once recorded, in a word or two. */
  done(result: R, outcome: O, plan: P): string;
  /**
   * A lease name for plans whose effect no provider key makes once-only (an email, sent by SMTP):
   * the runner takes the lease, then plans again under it, since another run may have finished
   * just before. Undefined: no lease for this plan.
   */
  lock?(plan: P): string | undefined;
  /**
   * Undoes at the provider what the record could not use (a shipment for an order cancelled while
   * the carrier worked), when `needed` says so; outside any transaction, like the call.
   */
  compensate?: { needed(result: R): boolean; call(plan: P, outcome: O, provider: Provider): Promise<unknown> };
  /** The transactions' options (a step that moves stock locks what it decides on). */
  planTx?: TxOptions;
  recordTx?: TxOptions;
}

/**
 * A step: `I` the job's input, `P` the plan, `O` the provider's outcome, `R` what the record
 * answers. `P` must not be a `Skip`-shaped object (a `skip` string field).
 */
export type Step<I, P, O, R> = Planning<I, P> & Recording<P, O, R> & StepParts<P, O, R>;

/** Declares a step; the identity function, there for the types to be inferred from one object. */
export function step<I, P, O, R>(declaration: Step<I, P, O, R>): Step<I, P, O, R> {
  return declaration;
}

/** Another run holds the step's lease: run the job again shortly, without spending an attempt. */
export class StepBusy extends Error {
  override readonly name = 'StepBusy';
  constructor(readonly stepId: string) {
    super(`another run of ${stepId} holds its lease`);
  }
}

export interface StepRunnerDeps {
  db: Db;
  gateway: PaymentGateway;
  carrier: Carrier;
  notifier: Notifier;
  mailer?: Mailer;
  /** Keeps two runs of a locked step from acting at the same moment. */
  lease?: Lease;
  /** How long one provider call may take (PROVIDER_TIMEOUT_MS). */
  providerTimeoutMs: number;
  now: () => number;
}

/** Runs declared steps: `run(step, input)` answers what the job answers. */
export interface StepRunner {
  run<I, P, O, R>(step: Step<I, P, O, R>, input: I): Promise<string>;
  /** Whether customers can be emailed (a Mailer is configured). */
  readonly emails: boolean;
}

export function stepRunner(deps: StepRunnerDeps): StepRunner {
  const { db, now } = deps;
  // The CLIENT span is outside the deadline, so that a call that hangs shows as an error on it.
  const timed = {
    gateway: timedGateway(deps.gateway, deps.providerTimeoutMs),
    carrier: timedCarrier(deps.carrier, deps.providerTimeoutMs),
    notifier: timedNotifier(deps.notifier, deps.providerTimeoutMs),
  };
  const providers: Provider = { ...(tracingEnabled() ? traceProviders(timed) : timed), mailer: deps.mailer };

  async function run<I, P, O, R>(step: Step<I, P, O, R>, input: I): Promise<string> {
    annotateSpan({ 'step.id': step.id });
    const phase: { at: Phase } = { at: 'plan' };
    try {
      return await phased(step, input, phase);
    } catch (error) {
      // Which piece failed, for whoever reads the trace: a call's failure left the plan committed.
      annotateSpan({ 'step.failed_in': phase.at });
      throw error;
    }
  }

  async function phased<I, P, O, R>(step: Step<I, P, O, R>, input: I, phase: { at: Phase }): Promise<string> {
    let planned = await planOf(step, input);
    if (isSkip(planned)) return skipped(planned);
    const key = step.lock?.(planned);
    let lease: LeaseHandle | undefined;
    if (key !== undefined && deps.lease) {
      lease = await deps.lease(key);
      if (!lease) throw new StepBusy(step.id);
    }
    try {
      if (lease) {
        // Planned again under the lease: the run that held it may have finished just before.
        planned = await planOf(step, input);
        if (isSkip(planned)) return skipped(planned);
      }
      const plan = planned;
      const provider = lease ? { ...providers, lease } : providers;
      phase.at = 'call';
      const outcome = await step.call(plan, provider);
      phase.at = 'record';
      const result = await recordOf(step, plan, outcome);
      phase.at = 'compensate';
      if (step.compensate?.needed(result)) await step.compensate.call(plan, outcome, provider);
      const said = step.done(result, outcome, plan);
      annotateSpan({ 'step.result': said });
      return said;
    } finally {
      // A lease not given back (Redis away) expires by itself.
      await lease?.release().catch(() => {});
    }
  }

  function planOf<I, P, O, R>(step: Step<I, P, O, R>, input: I): Promise<P | Skip> {
    if (step.look) return step.look(db, input, now());
    const plan = step.plan;
    return writeTx(db, (tx) => plan(tx, input, now()), step.planTx);
  }

  function recordOf<I, P, O, R>(step: Step<I, P, O, R>, plan: P, outcome: O): Promise<R> {
    if (step.recordOne) {
      const recordOne = step.recordOne;
      return writeOne(db, (handle) => recordOne(handle, plan, outcome, now()));
    }
    const record = step.record;
    return writeTx(db, (tx) => record(tx, plan, outcome, now()), step.recordTx);
  }

  return { run, emails: deps.mailer !== undefined };
}

type Phase = 'plan' | 'call' | 'record' | 'compensate';

function skipped(plan: Skip): string {
  annotateSpan({ 'step.result': plan.skip });
  return plan.skip;
}
