/**
 * Request and response shapes of the HTTP API (DESIGN.md "HTTP API"), the single source of both
 * validation and the OpenAPI document. Requests are strict: unknown fields are refused, every
 * string is bounded.
 */
import { z } from '@hono/zod-openapi';
import { iso31661 } from 'iso-3166';
import { FAILURE_REASONS, ORDER_STATUSES } from '../domain/order-machine.ts';
import { PAYMENT_STATUSES } from '../domain/payment.ts';

// A missing field says so plainly, rather than "expected string, received undefined".
z.config({
  customError: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined),
});

export const text = (max: number) => z.string().trim().min(1, { error: 'must not be empty' }).max(max);

// ---- Requests ----

export const SkuSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: 'must be 1-64 letters, digits, ".", "_" or "-"' })
  .openapi({ description: 'A catalog SKU.', example: 'SKU-1' });

/** The assigned ISO 3166-1 alpha-2 codes (from the iso-3166 package, which follows the ISO list). */
export const COUNTRY_CODES: ReadonlySet<string> = new Set(iso31661.map((c) => c.alpha2));

const MAX_ORDER_LINES = 100;
export const MAX_QUANTITY = 1000;
/** The longest address SMTP can carry (RFC 5321's 256-octet path, less its angle brackets). */
const MAX_EMAIL_LENGTH = 254;

export const PlaceOrderBody = z
  .strictObject({
    customerId: text(100).openapi({ example: 'cus_1' }),
    email: z
      .email({ error: 'must be an email address' })
      .max(MAX_EMAIL_LENGTH, { error: `must be at most ${MAX_EMAIL_LENGTH} characters` })
      .optional()
      .openapi({
        description: 'Where the customer’s messages go by email, when the service sends email (SMTP_URL).',
        example: 'ada@example.com',
      }),
    items: z
      .array(
        z.strictObject({
          sku: SkuSchema,
          quantity: z.int().min(1).max(MAX_QUANTITY).openapi({ example: 2 }),
        }),
      )
      .min(1, { error: 'must hold at least one line' })
      .max(MAX_ORDER_LINES, { error: `must hold at most ${MAX_ORDER_LINES} lines` })
      .openapi({ description: `1 to ${MAX_ORDER_LINES} lines; every SKU must be in the catalog.` }),
    payment: z.strictObject({
      token: text(200).openapi({
        description: 'A gateway token. In the sandbox: tok_visa, tok_chargeDeclined, tok_flaky, tok_slow.',
        example: 'tok_visa',
      }),
    }),
    shippingAddress: z.strictObject({
      name: text(200).openapi({ example: 'Ada Lovelace' }),
      line1: text(200).openapi({ example: '12 Analytical Row' }),
      city: text(100).openapi({ example: 'London' }),
      postalCode: text(20).openapi({ example: 'N1 9GU' }),
      country: z
        .string()
        .regex(/^[A-Z]{2}$/, { error: 'must be an ISO 3166-1 alpha-2 code, e.g. "US"', abort: true })
        .refine((code) => COUNTRY_CODES.has(code), {
          error:
            'must be an assigned ISO 3166-1 alpha-2 code, e.g. "US" (user-assigned and reserved codes such as "ZZ" or "UK" are not)',
        })
        .openapi({ description: 'An assigned ISO 3166-1 alpha-2 country code.', example: 'GB' }),
    }),
  })
  .openapi('PlaceOrder');
export type PlaceOrderBody = z.infer<typeof PlaceOrderBody>;

export const IdempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, { error: 'must be 1-255 visible ASCII characters' })
  .openapi({
    description: 'Makes the request safe to retry: a replay answers the first response.',
    example: 'c3b1d7e2-order-42',
  });

export const PlaceOrderHeaders = z.object({ 'idempotency-key': IdempotencyKeySchema.optional() });

/** A path parameter holding one of the service's ids (a prefix and a ULID), as `{ [name]: id }`. */
export function idParam<N extends string>(name: N, prefix: string) {
  const id = z
    .string()
    .max(64)
    .openapi({ param: { name, in: 'path' }, example: `${prefix}_01JD5ZQ0N6W8J7Y3K2V1B0C9XA` });
  return z.object({ [name]: id } as Record<N, typeof id>);
}

export const OrderIdParam = idParam('id', 'ord');

export const SkuParam = z.object({ sku: SkuSchema.openapi({ param: { name: 'sku', in: 'path' } }) });

export const PutProductBody = z
  .strictObject({
    name: text(200).openapi({ example: 'Analytical engine punch cards' }),
    priceCents: z.int().min(0).max(100_000_000).openapi({ example: 1250 }),
    stock: z.int().min(0).max(1_000_000_000).openapi({ description: 'Units available for sale.', example: 40 }),
  })
  .openapi('PutProduct');

export const OrderQuery = z.strictObject({
  orderId: z.string().min(1).max(100).optional().openapi({ description: 'Only this order’s records.' }),
});

export const CarrierWebhookBody = z
  .strictObject({
    trackingNumber: text(100),
    status: z.enum(['delivered', 'returned'], { error: 'must be "delivered" or "returned"' }).openapi({
      description: '`delivered`: the parcel reached the customer. `returned`: a parcel of the order came back to the shop.',
    }),
    returnId: text(100).optional().openapi({
      description:
        'With `returned`: the return (`rt_…`) printed on the parcel’s return label; only that return is received. Without it, every return of the order still REQUESTED is.',
      example: 'rt_01J8Z3XK6M2V4T7Q9R1B5N8C0D',
    }),
  })
  .refine((body) => body.returnId === undefined || body.status === 'returned', {
    path: ['returnId'],
    message: 'only goes with status "returned"',
  })
  .openapi('CarrierWebhook');

export const SignatureHeaders = z.object({
  'x-signature': z.string().optional().openapi({
    description:
      '`t=<unix seconds>,v1=<hex HMAC-SHA256, keyed with WEBHOOK_SECRET, of "<t>." followed by the raw body>`; a timestamp more than WEBHOOK_TOLERANCE_S from now is refused.',
  }),
});

// ---- Responses ----

export const OrderSchema = z
  .object({
    id: z.string(),
    status: z.enum(ORDER_STATUSES),
    customerId: z.string(),
    email: z.string().nullable().openapi({ description: 'Where the customer’s messages go by email, or null.' }),
    items: z.array(z.object({ sku: z.string(), quantity: z.int(), unitPriceCents: z.int() })),
    totalCents: z.int(),
    currency: z.string().openapi({ example: 'USD' }),
    payment: z.object({ status: z.enum(PAYMENT_STATUSES) }),
    shipment: z.object({ trackingNumber: z.string() }).nullable(),
    reason: z.enum(FAILURE_REASONS).nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi('Order');

export const TimelineSchema = z
  .object({
    events: z.array(
      z.object({
        type: z.string().openapi({ example: 'PaymentSucceeded' }),
        from: z.enum(ORDER_STATUSES).nullable(),
        to: z.enum(ORDER_STATUSES),
        at: z.iso.datetime(),
        data: z.record(z.string(), z.unknown()),
      }),
    ),
  })
  .openapi('Timeline');

export const ProductSchema = z
  .object({
    sku: z.string(),
    name: z.string(),
    priceCents: z.int(),
    available: z.int(),
    reserved: z.int(),
    shipped: z.int(),
    returned: z
      .int()
      .openapi({ description: 'Units that came back with a return and went on sale again (counted in `available`).' }),
  })
  .openapi('Product');

export const ProductListSchema = z.object({ products: z.array(ProductSchema) }).openapi('ProductList');

const LedgerEntry = z.object({ id: z.string(), orderId: z.string(), amountCents: z.int() });
export const SandboxPaymentsSchema = z
  .object({ charges: z.array(LedgerEntry), refunds: z.array(LedgerEntry) })
  .openapi('SandboxPayments');

export const SandboxMessagesSchema = z
  .object({ messages: z.array(z.object({ orderId: z.string(), kind: z.string(), channel: z.string() })) })
  .openapi('SandboxMessages');

/** The JSON content entry of a route's request or response. */
export function json<T extends z.ZodType>(schema: T) {
  return { content: { 'application/json': { schema } } };
}
