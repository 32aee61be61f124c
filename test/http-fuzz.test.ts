/**
 * Property: no body a client can send to POST /orders gets anything but a 4xx problem document,
 * and none of them writes a row. Thousands of random values, random text, and valid orders broken
 * in one place (structurally or byte by byte).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlaceOrderBody } from '../src/api/schemas.ts';
import { API_KEY, Harness } from './support/harness.ts';

const CATALOG = ['SKU-1', 'SKU-2', 'sku_3.b'];

let h: Harness;
let before: Record<string, number>;

beforeAll(async () => {
  h = await Harness.start({ queues: [] });
  for (const sku of CATALOG) await h.putProduct(sku, 1_000_000);
  before = h.rowCounts();
});

afterAll(async () => {
  await h?.stop();
});

/** Would the service accept this text as an order? Such inputs are not refusals: skip them. */
function acceptable(text: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  const parsed = PlaceOrderBody.safeParse(value);
  return parsed.success && parsed.data.items.every((i) => CATALOG.includes(i.sku));
}

interface Attempt {
  body: string;
  contentType?: string;
  idempotencyKey?: string;
}

async function send(attempt: Attempt) {
  const headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` };
  if (attempt.contentType !== undefined) headers['content-type'] = attempt.contentType;
  if (attempt.idempotencyKey !== undefined) headers['idempotency-key'] = attempt.idempotencyKey;
  const res = await fetch(`${h.base}/orders`, { method: 'POST', body: attempt.body, headers });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), text };
}

async function refusedWithAProblem(attempt: Attempt): Promise<void> {
  const res = await send(attempt);
  const context = `${res.status} for ${JSON.stringify(attempt).slice(0, 300)}: ${res.text.slice(0, 300)}`;
  expect(res.status >= 400 && res.status < 500, context).toBe(true);
  expect(res.type, context).toBe('application/problem+json');
  const problem = JSON.parse(res.text);
  expect(problem, context).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status: res.status,
    detail: expect.any(String),
  });
  if (res.status === 400 || res.status === 422) expect(problem.errors?.length, context).toBeGreaterThan(0);
}

// ---- Generators ----

const idempotencyKey = fc.option(fc.stringMatching(/^[\x21-\x7e]{1,40}$/), { nil: undefined });
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/merge-patch+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  undefined,
);
const anyString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme', maxLength: 300 }));

const validLine = fc.record({ sku: fc.constantFrom(...CATALOG), quantity: fc.integer({ min: 1, max: 1000 }) });
const bounded = (max: number) =>
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: max }).filter((s) => s.trim().length > 0);
const validOrder = fc.record({
  customerId: bounded(100),
  items: fc.array(validLine, { minLength: 1, maxLength: 5 }),
  payment: fc.record({ token: fc.constantFrom('tok_visa', 'tok_chargeDeclined', 'tok_flaky', 'tok_slow') }),
  shippingAddress: fc.record({
    name: bounded(200),
    line1: bounded(200),
    city: bounded(100),
    postalCode: bounded(20),
    country: fc.stringMatching(/^[A-Z]{2}$/),
  }),
});
type Order = typeof validOrder extends fc.Arbitrary<infer T> ? T : never;

/** Values of a type no field of an order has, or out of every field's bounds. */
const wrongValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.integer({ min: -1_000_000, max: 0 }),
  fc.integer({ min: 1001, max: 2 ** 40 }),
  fc.constant(''),
  fc.constant('   '),
  fc.string({ minLength: 201, maxLength: 400 }),
  fc.array(fc.jsonValue(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue(), { maxKeys: 3 }),
);

type Mutation = (order: Order) => unknown;

/** Each one breaks a valid order in a single place: the result is never acceptable. */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // An unknown field at any level.
  fc
    .tuple(fc.constantFrom('', 'items.0', 'payment', 'shippingAddress'), fc.stringMatching(/^[a-z][a-zA-Z]{0,12}$/), fc.jsonValue())
    .filter(([, key]) => !['customerId', 'items', 'payment', 'shippingAddress', 'sku', 'quantity', 'token', 'name', 'line1', 'city', 'postalCode', 'country'].includes(key))
    .map(([at, key, value]) => (o: Order) => setAt(o, at ? `${at}.${key}` : key, value)),
  // A required field missing.
  fc
    .constantFrom('customerId', 'items', 'payment', 'payment.token', 'shippingAddress', 'shippingAddress.name', 'shippingAddress.line1', 'shippingAddress.city', 'shippingAddress.postalCode', 'shippingAddress.country', 'items.0.sku', 'items.0.quantity')
    .map((path) => (o: Order) => setAt(o, path, undefined)),
  // A field of the wrong type or out of bounds.
  fc
    .tuple(fc.constantFrom('customerId', 'items.0.quantity', 'items.0.sku', 'payment.token', 'shippingAddress.name', 'shippingAddress.country', 'shippingAddress.postalCode'), wrongValue)
    .map(([path, value]) => (o: Order) => setAt(o, path, value)),
  fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 1001 }), fc.double({ min: 1.0001, max: 999.999, noNaN: true }).filter((d) => !Number.isInteger(d)))
    .map((quantity) => (o: Order) => setAt(o, 'items.0.quantity', quantity)),
  // SKUs: malformed, or well-formed but not in the catalog.
  fc.oneof(fc.string({ minLength: 65, maxLength: 80 }), fc.stringMatching(/^[^A-Za-z0-9]/), fc.stringMatching(/^NOPE-[a-z0-9]{1,20}$/))
    .map((sku) => (o: Order) => setAt(o, 'items.0.sku', sku)),
  // Too few or too many lines.
  fc.constant((o: Order) => ({ ...o, items: [] })),
  fc.integer({ min: 101, max: 150 }).map((n) => (o: Order) => ({ ...o, items: Array.from({ length: n }, () => o.items[0]) })),
  // A bounded string one past its bound.
  fc.constantFrom(['customerId', 101], ['shippingAddress.name', 201], ['shippingAddress.line1', 201], ['shippingAddress.city', 101], ['shippingAddress.postalCode', 21], ['payment.token', 201])
    .map(([path, length]) => (o: Order) => setAt(o, path as string, 'x'.repeat(length as number))),
  // Not an object at all.
  fc.constantFrom<Mutation>((o) => [o], () => null, (o) => JSON.stringify(o), () => 42),
);

function setAt(order: Order, path: string, value: unknown): unknown {
  const copy = structuredClone(order) as Record<string, unknown>;
  const keys = path.split('.');
  let target: Record<string, unknown> = copy;
  for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
  const last = keys.at(-1)!;
  if (value === undefined) delete target[last];
  else target[last] = value;
  return copy;
}

/** A byte-level edit of the serialised order: a character deleted, replaced or inserted. */
const textEdit = fc.tuple(fc.nat(), fc.constantFrom('delete', 'replace', 'insert'), fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }));

const RUNS = { seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), verbose: 1 } as const;

describe('POST /orders under random and mutated bodies', () => {
  it('refuses any random JSON value with a 4xx problem', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), contentType, idempotencyKey, async (value, type, key) => {
        const body = JSON.stringify(value) ?? 'null';
        fc.pre(!acceptable(body) || type === undefined || !type.includes('json'));
        await refusedWithAProblem({ body, contentType: type, idempotencyKey: key });
      }),
      { ...RUNS, numRuns: 1000 },
    );
  });

  it('refuses any random text with a 4xx problem', async () => {
    await fc.assert(
      fc.asyncProperty(anyString, contentType, async (body, type) => {
        fc.pre(!acceptable(body));
        await refusedWithAProblem({ body, contentType: type });
      }),
      { ...RUNS, numRuns: 600 },
    );
  });

  it('refuses a valid order broken in one place with a 4xx problem', async () => {
    await fc.assert(
      fc.asyncProperty(validOrder, mutation, idempotencyKey, async (order, mutate, key) => {
        const body = JSON.stringify(mutate(order));
        expect(acceptable(body), body).toBe(false);
        await refusedWithAProblem({ body, contentType: 'application/json', idempotencyKey: key });
      }),
      { ...RUNS, numRuns: 1500 },
    );
  });

  it('refuses a valid order with its text damaged with a 4xx problem', async () => {
    await fc.assert(
      fc.asyncProperty(validOrder, textEdit, async (order, [at, edit, chars]) => {
        const text = JSON.stringify(order);
        const i = at % text.length;
        const body =
          edit === 'delete'
            ? text.slice(0, i) + text.slice(i + 1)
            : edit === 'replace'
              ? text.slice(0, i) + chars + text.slice(i + 1)
              : text.slice(0, i) + chars + text.slice(i);
        // Some edits leave a valid order (a letter of a name changed): those are not refusals.
        fc.pre(!acceptable(body));
        await refusedWithAProblem({ body, contentType: 'application/json' });
      }),
      { ...RUNS, numRuns: 1000 },
    );
  });

  it('wrote nothing for any of them', () => {
    expect(h.rowCounts()).toEqual(before);
  });
});
