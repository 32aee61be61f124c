/**
 * The step runner's contract (src/processors/step.ts), on the real store and the sandbox's
 * gateway and carrier: a record that fails after the call runs the step again and the provider's
 * key gives the same answer; a plan that skips calls nothing; a call that fails leaves the plan's
 * transaction committed and goes up as it was; a call that hangs fails at the provider deadline; a
 * locked step plans again under its lease, and a run that finds the lease taken calls nothing; a
 * record that finds the answer of no use has the provider undo it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Db } from '../src/db/client.ts';
import { closeDatabase } from '../src/db/open.ts';
import { findOrder, lockOrder } from '../src/db/orders.ts';
import { placeOrder } from '../src/db/placement.ts';
import { cancelOrder } from '../src/db/cancel.ts';
import { reserveStock, upsertProduct } from '../src/db/stock.ts';
import type { ChargeOutcome, PaymentGateway } from '../src/domain/ports.ts';
import { TransientGatewayError } from '../src/domain/ports.ts';
import { chargeStep } from '../src/processors/payment.ts';
import { ProviderTimeoutError } from '../src/processors/provider-timeouts.ts';
import { refundStep } from '../src/processors/refund.ts';
import { shipStep } from '../src/processors/shipping.ts';
import { skip, step, StepBusy, stepRunner, type StepRunnerDeps } from '../src/processors/step.ts';
import { redisLease } from '../src/queues/lease.ts';
import { SandboxCarrier } from '../src/sandbox/carrier.ts';
import { sandboxPayments } from '../src/sandbox/ledger.ts';
import { SandboxNotifier } from '../src/sandbox/notifier.ts';
import { SandboxPaymentGateway } from '../src/sandbox/payment-gateway.ts';
import { openTestStore, sqlRows } from './support/store.ts';

let db: Db;
let dir: string;
let redis: Redis;
const now = () => Date.now();
const TIMEOUT = 30_000;

beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
});
afterAll(async () => {
  await redis.quit();
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'orders-step-runner-'));
  db = await openTestStore(dir);
  await upsertProduct(db, { sku: 'A', name: 'A', priceCents: 500, stock: 10 }, now());
});

afterEach(async () => {
  await closeDatabase(db);
  rmSync(dir, { recursive: true, force: true });
});

async function placed(): Promise<string> {
  const result = await placeOrder(
    db,
    {
      customerId: 'c1',
      items: [{ sku: 'A', quantity: 2 }],
      paymentToken: 'tok_visa',
      shippingAddress: { name: 'N', line1: 'L', city: 'C', postalCode: 'P', country: 'FR' },
    },
    now(),
  );
  if (result.replayed) throw new Error('replayed');
  return result.order.id;
}

/** The sandbox's gateway, counting the charges asked of it. */
function countingGateway(over: Partial<PaymentGateway> = {}) {
  const sandbox = new SandboxPaymentGateway(db, { latencyMs: 0, slowAnswerMs: 0 });
  const asked: ChargeOutcome[] = [];
  const gateway: PaymentGateway = {
    charge: async (request) => {
      const outcome = await sandbox.charge(request);
      asked.push(outcome);
      return outcome;
    },
    void: (request) => sandbox.void(request),
    refund: (request) => sandbox.refund(request),
    ...over,
  };
  return { gateway, asked };
}

function runner(over: Partial<StepRunnerDeps> = {}) {
  return stepRunner({
    db,
    gateway: countingGateway().gateway,
    carrier: new SandboxCarrier(db),
    notifier: new SandboxNotifier(db, pino({ level: 'silent' })),
    providerTimeoutMs: 5_000,
    now,
    ...over,
  });
}

const input = (orderId: string) => ({ orderId, paymentTimeoutMs: TIMEOUT });

describe('the step runner', () => {
  it('runs a step whose record failed after its call again, and the provider key gives the same answer', async () => {
    const id = await placed();
    const { gateway, asked } = countingGateway();
    const steps = runner({ gateway });
    let failures = 1;
    const record = chargeStep.record;
    if (!record) throw new Error('the charge records in a transaction');
    const flakyRecord = step({
      ...chargeStep,
      record: async (tx, plan, outcome, at) => {
        await record(tx, plan, outcome, at);
        if (failures-- > 0) throw new Error('the record transaction failed');
        return undefined;
      },
    });
    await expect(steps.run(flakyRecord, input(id))).rejects.toThrow('the record transaction failed');
    // The record rolled back: the order still waits for its payment's answer.
    expect((await findOrder(db, id))?.paymentStatus).toBe('PENDING');
    expect(await steps.run(flakyRecord, input(id))).toBe('charge: captured');
    expect(asked).toHaveLength(2);
    expect(asked[1]).toEqual(asked[0]);
    const order = await findOrder(db, id);
    expect(order).toMatchObject({
      status: 'PAID',
      paymentStatus: 'CAPTURED',
      chargeId: (asked[0] as { chargeId: string }).chargeId,
    });
    expect((await sandboxPayments(db, id)).charges).toHaveLength(1);
  });

  it('calls nothing when the plan skips', async () => {
    const id = await placed();
    let calls = 0;
    const steps = runner();
    const never = step({
      id: 'never',
      plan: async () => skip('nothing to do here'),
      call: async () => {
        calls += 1;
      },
      record: async () => {},
      done: () => 'done',
    });
    expect(await steps.run(never, id)).toBe('nothing to do here');
    // An order whose payment does not wait for a refund: no gateway refund.
    const refusing = countingGateway({
      refund: async () => {
        calls += 1;
        return { refundId: 'never' };
      },
    });
    expect(await runner({ gateway: refusing.gateway }).run(refundStep, id)).toBe('nothing to refund');
    expect(calls).toBe(0);
  });

  it('keeps the plan committed when the call fails, and lets the error go up for a retry', async () => {
    const id = await placed();
    const down = countingGateway({
      charge: async () => {
        throw new TransientGatewayError('gateway down');
      },
    });
    await expect(runner({ gateway: down.gateway }).run(chargeStep, input(id))).rejects.toBeInstanceOf(TransientGatewayError);
    expect(await findOrder(db, id)).toMatchObject({ status: 'PAYMENT_PENDING', paymentStatus: 'PENDING' });
    const timeline = await sqlRows<{ type: string }>(db, 'SELECT type FROM order_events WHERE order_id = ? ORDER BY id', id);
    expect(timeline.map((e) => e.type)).toContain('PaymentRequested');
    // The retry asks again under the same key, and settles the payment.
    const { gateway } = countingGateway();
    expect(await runner({ gateway }).run(chargeStep, input(id))).toBe('charge: captured');
  });

  it('fails a call that hangs at the provider deadline, the plan committed', async () => {
    const id = await placed();
    const hanging = countingGateway({ charge: () => new Promise<never>(() => {}) });
    const started = performance.now();
    await expect(runner({ gateway: hanging.gateway, providerTimeoutMs: 200 }).run(chargeStep, input(id))).rejects.toBeInstanceOf(
      ProviderTimeoutError,
    );
    expect(performance.now() - started).toBeLessThan(TIMEOUT);
    expect((await findOrder(db, id))?.status).toBe('PAYMENT_PENDING');
  });

  it('plans a locked step again under its lease, and a run that finds the lease taken calls nothing', async () => {
    const id = await placed();
    const lease = redisLease(redis, `step-runner-${randomUUID()}`, 10_000);
    let plans = 0;
    let calls = 0;
    const locked = step({
      id: 'locked',
      plan: async (tx, orderId: string) => {
        plans += 1;
        const order = await lockOrder(tx, orderId);
        return order ? { orderId } : skip('no order');
      },
      lock: ({ orderId }) => `locked-${orderId}`,
      call: async (_plan, provider) => {
        calls += 1;
        return provider.lease ? provider.lease.held() : false;
      },
      record: async () => 'recorded',
      done: (result, held) => `${result}, lease held: ${held}`,
    });
    const steps = runner({ lease });
    expect(await steps.run(locked, id)).toBe('recorded, lease held: true');
    expect({ plans, calls }).toEqual({ plans: 2, calls: 1 });
    // The lease was given back; another run holding it now makes this one wait, calling nothing.
    const holder = await lease(`locked-${id}`);
    expect(holder).toBeDefined();
    await expect(steps.run(locked, id)).rejects.toBeInstanceOf(StepBusy);
    expect(calls).toBe(1);
    await holder?.release();
  });

  it('has the provider undo what the record found of no use (a shipment for an order cancelled meanwhile)', async () => {
    const id = await placed();
    const steps = runner();
    expect(await steps.run(chargeStep, input(id))).toBe('charge: captured');
    await reserveStock(db, id, now());
    const cancelled: string[] = [];
    const sandbox = new SandboxCarrier(db);
    const carrier = {
      createShipment: async (request: { orderId: string; address: unknown }) => {
        const shipment = await sandbox.createShipment(request);
        // The customer cancels while the carrier works.
        await cancelOrder(db, id, now());
        return shipment;
      },
      cancelShipment: async (request: { orderId: string }) => {
        cancelled.push(request.orderId);
        await sandbox.cancelShipment(request);
      },
    };
    expect(await runner({ carrier }).run(shipStep, id)).toBe('order_ended');
    expect(cancelled).toEqual([id]);
    expect((await findOrder(db, id))?.status).toBe('CANCELLED');
  });
});
