/**
 * Property: no body a client can send to POST /orders gets anything but a 4xx problem document,
 * and none of them writes a row. Thousands of random values, random text, and valid orders broken
 * in one place (structurally, byte by byte, with unsafe characters, undecodable bytes, made-up
 * countries, sold-out SKUs, totals over the limit); random paths and queries too.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unsafeTextIssues } from '../src/api/hygiene.ts';
import { COUNTRY_CODES, PlaceOrderBody } from '../src/api/schemas.ts';
import { API_KEY, Harness } from './support/harness.ts';

const CATALOG = ['SKU-1', 'SKU-2', 'sku_3.b'];
/** On sale but never orderable as generated: none left, or too dear for MAX_ORDER_TOTAL_CENTS in 3. */
const GONE = 'GONE-1';
const GOLD = 'GOLD-1';
const PRICES: Record<string, number> = { 'SKU-1': 1_000, 'SKU-2': 1_000, 'sku_3.b': 1_000, [GONE]: 1_000, [GOLD]: 4_000_000 };
const STOCK: Record<string, number> = {
  'SKU-1': 1_000_000,
  'SKU-2': 1_000_000,
  'sku_3.b': 1_000_000,
  [GONE]: 0,
  [GOLD]: 1_000_000,
};
const MAX_TOTAL = 10_000_000;
const COUNTRIES = [...COUNTRY_CODES];

let h: Harness;
let before: Record<string, number>;

beforeAll(async () => {
  h = await Harness.start({ queues: [], env: { MAX_ORDER_TOTAL_CENTS: String(MAX_TOTAL) } });
  for (const [sku, stock] of Object.entries(STOCK)) await h.putProduct(sku, stock, PRICES[sku]);
  before = await h.rowCounts();
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
  if (unsafeTextIssues(value).length > 0) return false;
  const parsed = PlaceOrderBody.safeParse(value);
  if (!parsed.success) return false;
  const items = parsed.data.items;
  if (!items.every((i) => i.sku in STOCK)) return false;
  const total = items.reduce((sum, i) => sum + PRICES[i.sku]! * i.quantity, 0);
  const wanted = new Map<string, number>();
  for (const i of items) wanted.set(i.sku, (wanted.get(i.sku) ?? 0) + i.quantity);
  return total <= MAX_TOTAL && [...wanted].every(([sku, n]) => n <= STOCK[sku]!);
}

interface Attempt {
  body: string | Uint8Array;
  contentType?: string;
  idempotencyKey?: string;
  contentEncoding?: string;
}

async function send(attempt: Attempt) {
  const headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` };
  if (attempt.contentType !== undefined) headers['content-type'] = attempt.contentType;
  if (attempt.idempotencyKey !== undefined) headers['idempotency-key'] = attempt.idempotencyKey;
  if (attempt.contentEncoding !== undefined) headers['content-encoding'] = attempt.contentEncoding;
  const res = await fetch(`${h.base}/orders`, { method: 'POST', body: attempt.body, headers });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), text };
}

async function refusedWithAProblem(attempt: Attempt): Promise<void> {
  const res = await send(attempt);
  const shown = { ...attempt, body: typeof attempt.body === 'string' ? attempt.body : Buffer.from(attempt.body).toString('hex') };
  const context = `${res.status} for ${JSON.stringify(shown).slice(0, 300)}: ${res.text.slice(0, 300)}`;
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
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
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
    country: fc.constantFrom(...COUNTRIES),
  }),
});
type Order = typeof validOrder extends fc.Arbitrary<infer T> ? T : never;

/** Values of a type no field of an order has, or out of every field's bounds. */
/** One character of each refused class. */
const unsafeCharacter = fc
  .oneof(
    fc.integer({ min: 0x00, max: 0x1f }),
    fc.constant(0x7f),
    fc.integer({ min: 0x80, max: 0x9f }),
    fc.integer({ min: 0x202a, max: 0x202e }),
    fc.integer({ min: 0x2066, max: 0x2069 }),
  )
  .map((code) => String.fromCharCode(code));

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
    .tuple(
      fc.constantFrom('', 'items.0', 'payment', 'shippingAddress'),
      fc.stringMatching(/^[a-z][a-zA-Z]{0,12}$/),
      fc.jsonValue(),
    )
    .filter(
      ([, key]) =>
        ![
          'customerId',
          'items',
          'payment',
          'shippingAddress',
          'sku',
          'quantity',
          'token',
          'name',
          'line1',
          'city',
          'postalCode',
          'country',
        ].includes(key),
    )
    .map(
      ([at, key, value]) =>
        (o: Order) =>
          setAt(o, at ? `${at}.${key}` : key, value),
    ),
  // A required field missing.
  fc
    .constantFrom(
      'customerId',
      'items',
      'payment',
      'payment.token',
      'shippingAddress',
      'shippingAddress.name',
      'shippingAddress.line1',
      'shippingAddress.city',
      'shippingAddress.postalCode',
      'shippingAddress.country',
      'items.0.sku',
      'items.0.quantity',
    )
    .map((path) => (o: Order) => setAt(o, path, undefined)),
  // A field of the wrong type or out of bounds.
  fc
    .tuple(
      fc.constantFrom(
        'customerId',
        'items.0.quantity',
        'items.0.sku',
        'payment.token',
        'shippingAddress.name',
        'shippingAddress.country',
        'shippingAddress.postalCode',
      ),
      wrongValue,
    )
    .map(
      ([path, value]) =>
        (o: Order) =>
          setAt(o, path, value),
    ),
  fc
    .oneof(
      fc.integer({ max: 0 }),
      fc.integer({ min: 1001 }),
      fc.double({ min: 1.0001, max: 999.999, noNaN: true }).filter((d) => !Number.isInteger(d)),
    )
    .map((quantity) => (o: Order) => setAt(o, 'items.0.quantity', quantity)),
  // SKUs: malformed, or well-formed but not in the catalog.
  fc
    .oneof(
      fc.string({ minLength: 65, maxLength: 80 }),
      fc.stringMatching(/^[^A-Za-z0-9]/),
      fc.stringMatching(/^NOPE-[a-z0-9]{1,20}$/),
    )
    .map((sku) => (o: Order) => setAt(o, 'items.0.sku', sku)),
  // Too few or too many lines.
  fc.constant((o: Order) => ({ ...o, items: [] })),
  fc.integer({ min: 101, max: 150 }).map((n) => (o: Order) => ({ ...o, items: Array.from({ length: n }, () => o.items[0]) })),
  // A bounded string one past its bound.
  fc
    .constantFrom(
      ['customerId', 101],
      ['shippingAddress.name', 201],
      ['shippingAddress.line1', 201],
      ['shippingAddress.city', 101],
      ['shippingAddress.postalCode', 21],
      ['payment.token', 201],
    )
    .map(
      ([path, length]) =>
        (o: Order) =>
          setAt(o, path as string, 'x'.repeat(length as number)),
    ),
  // Not an object at all.
  fc.constantFrom<Mutation>(
    (o) => [o],
    () => null,
    (o) => JSON.stringify(o),
    () => 42,
  ),
  // A refused character anywhere in a text field (or a field name).
  fc
    .tuple(
      fc.constantFrom(
        'customerId',
        'payment.token',
        'shippingAddress.name',
        'shippingAddress.line1',
        'shippingAddress.city',
        'shippingAddress.postalCode',
      ),
      unsafeCharacter,
      fc.nat(),
    )
    .map(([path, bad, at]) => (o: Order) => {
      const value = String(getAt(o, path));
      const i = at % (value.length + 1);
      return setAt(o, path, value.slice(0, i) + bad + value.slice(i));
    }),
  unsafeCharacter.map((bad) => (o: Order) => ({ ...o, [`note${bad}`]: 'x' })),
  // A country code that is well-formed but not assigned.
  fc
    .stringMatching(/^[A-Z]{2}$/)
    .filter((c) => !COUNTRY_CODES.has(c))
    .map((country) => (o: Order) => setAt(o, 'shippingAddress.country', country)),
  // A SKU that is sold out, or a total over the limit.
  fc.constant((o: Order) => setAt(o, 'items.0.sku', GONE)),
  fc.integer({ min: 3, max: 1000 }).map((quantity) => (o: Order) => setAt(o, 'items.0', { sku: GOLD, quantity })),
);

function getAt(order: Order, path: string): unknown {
  return path.split('.').reduce<unknown>((at, key) => (at as Record<string, unknown>)[key], order);
}

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
const textEdit = fc.tuple(
  fc.nat(),
  fc.constantFrom('delete', 'replace', 'insert'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }),
);

/** Thousands of real requests each: give a property room when the machine is busy with other suites. */
const PROPERTY_TIMEOUT_MS = 240_000;

const RUNS = { seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), verbose: 1 } as const;

describe('POST /orders under random and mutated bodies', () => {
  it(
    'refuses any random JSON value with a 4xx problem',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.jsonValue(), contentType, idempotencyKey, async (value, type, key) => {
          const body = JSON.stringify(value) ?? 'null';
          fc.pre(!acceptable(body) || type === undefined || !type.includes('json'));
          await refusedWithAProblem({ body, contentType: type, idempotencyKey: key });
        }),
        { ...RUNS, numRuns: 1000 },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'refuses any random text with a 4xx problem',
    async () => {
      await fc.assert(
        fc.asyncProperty(anyString, contentType, async (body, type) => {
          fc.pre(!acceptable(body));
          await refusedWithAProblem({ body, contentType: type });
        }),
        { ...RUNS, numRuns: 600 },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'refuses a valid order broken in one place with a 4xx problem',
    async () => {
      await fc.assert(
        fc.asyncProperty(validOrder, mutation, idempotencyKey, async (order, mutate, key) => {
          const body = JSON.stringify(mutate(order));
          expect(acceptable(body), body).toBe(false);
          await refusedWithAProblem({ body, contentType: 'application/json', idempotencyKey: key });
        }),
        { ...RUNS, numRuns: 1500 },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'refuses a valid order with its text damaged with a 4xx problem',
    async () => {
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
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'refuses a valid order with bytes that are not UTF-8 in it with a 4xx problem',
    async () => {
      const invalidUtf8 = fc.constantFrom(
        [0xff],
        [0xfe],
        [0xc3, 0x28],
        [0xe2, 0x82],
        [0xed, 0xa0, 0x80],
        [0xf8, 0x88, 0x80, 0x80, 0x80],
        [0x80],
        [0xc0, 0xaf],
      );
      await fc.assert(
        fc.asyncProperty(validOrder, invalidUtf8, fc.nat(), async (order, bad, at) => {
          const bytes = Buffer.from(JSON.stringify(order));
          const i = at % (bytes.length + 1);
          const body = Buffer.concat([bytes.subarray(0, i), Buffer.from(bad), bytes.subarray(i)]);
          await refusedWithAProblem({ body, contentType: 'application/json' });
        }),
        { ...RUNS, numRuns: 300 },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'refuses a valid order that is compressed or in another charset with a 415',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          validOrder,
          fc.constantFrom<[string, string | undefined]>(
            ['application/json', 'gzip'],
            ['application/json', 'br'],
            ['application/json', 'identity'],
            ['application/json; charset=iso-8859-1', undefined],
            ['application/json; charset=utf-16le', undefined],
            ['application/json; charset=us-ascii', undefined],
          ),
          async (order, [contentType, contentEncoding]) => {
            const res = await send({ body: JSON.stringify(order), contentType, contentEncoding });
            expect(res.status, res.text).toBe(415);
          },
        ),
        { ...RUNS, numRuns: 60 },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it('wrote nothing for any of them', async () => {
    expect(await h.rowCounts()).toEqual(before);
  });
});

/** Every byte of the UTF-8 of `text` percent-encoded (a lone surrogate leaves as EF BF BD). */
const percent = (text: string) => [...Buffer.from(text)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

describe('the client routes under random paths and queries', () => {
  const segment = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.string({ minLength: 65, maxLength: 2_000 }),
  );

  it(
    'answer any order id with a 4xx problem (never a 5xx), and write nothing',
    async () => {
      const counts = await h.rowCounts();
      await fc.assert(
        fc.asyncProperty(
          segment,
          fc.constantFrom('', '/events', '/cancel'),
          fc.string({ maxLength: 40 }),
          async (id, tail, query) => {
            const path = `/orders/${percent(id)}${tail}?${percent(query)}=${percent(id.slice(0, 20))}`;
            const res = await fetch(`${h.base}${path}`, {
              method: tail === '/cancel' ? 'POST' : 'GET',
              headers: { authorization: `Bearer ${API_KEY}` },
            });
            const text = await res.text();
            const context = `${res.status} for ${JSON.stringify(path).slice(0, 200)}: ${text.slice(0, 200)}`;
            expect(res.status >= 400 && res.status < 500, context).toBe(true);
            expect(res.headers.get('content-type'), context).toBe('application/problem+json');
            expect(text.length, context).toBeLessThan(1_500);
          },
        ),
        { ...RUNS, numRuns: 400 },
      );
      expect(await h.rowCounts()).toEqual(counts);
    },
    PROPERTY_TIMEOUT_MS,
  );
});
