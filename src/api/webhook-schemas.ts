/**
 * Request and response shapes of the webhook endpoint admin routes (api/admin-webhooks.ts), for
 * validation and the OpenAPI document. The event types come from the one table of them
 * (domain/webhook-events.ts).
 */
import { z } from '@hono/zod-openapi';
import { pageLimit } from '../order-filter.ts';
import { ATTEMPT_OUTCOMES, DELIVERY_STATUSES } from '../db/tables/webhooks/values.ts';
import { WEBHOOK_EVENT_TYPES } from '../domain/webhook-events.ts';
import { MAX_URL_LENGTH } from '../webhooks/safe-target.ts';
import { idParam } from './schemas.ts';

const EVENT_TYPES = WEBHOOK_EVENT_TYPES as unknown as [string, ...string[]];

const UrlSchema = z
  .string()
  .trim()
  .min(1, { error: 'must not be empty' })
  .max(MAX_URL_LENGTH, { error: `must be at most ${MAX_URL_LENGTH} characters` })
  .openapi({
    description:
      'Where events are POSTed: an `https://` URL whose host is a public address (WEBHOOK_ALLOW_PRIVATE_TARGETS=true also permits `http://` and private, loopback and link-local hosts).',
    example: 'https://erp.example.com/hooks/orders',
  });

const EventsSchema = z
  .array(z.enum(EVENT_TYPES, { error: `must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}` }))
  .min(1, { error: 'must name at least one event type' })
  .max(WEBHOOK_EVENT_TYPES.length)
  .openapi({ description: 'The event types the endpoint receives.', example: ['order.paid', 'order.shipped'] });

const DescriptionSchema = z.string().trim().max(500, { error: 'must be at most 500 characters' }).nullable();

export const CreateEndpointBody = z
  .strictObject({ url: UrlSchema, events: EventsSchema, description: DescriptionSchema.optional() })
  .openapi('CreateWebhookEndpoint');

export const UpdateEndpointBody = z
  .strictObject({
    url: UrlSchema.optional(),
    events: EventsSchema.optional(),
    description: DescriptionSchema.optional(),
    enabled: z.boolean().optional().openapi({ description: '`true` enables a disabled endpoint again; `false` disables it.' }),
  })
  .openapi('UpdateWebhookEndpoint');

/** An endpoint id as the service makes it: `we_` and a ULID. */
export const ENDPOINT_ID_PATTERN = /^we_[0-9A-HJKMNP-TV-Z]{26}$/;
export const DELIVERY_ID_PATTERN = /^dlv_[0-9A-HJKMNP-TV-Z]{26}$/;

export const EndpointIdParam = idParam('id', 'we');

export const DeliveryIdParam = idParam('id', 'dlv');

export const DeliveriesQuery = z.strictObject({
  status: z.enum(DELIVERY_STATUSES).optional().openapi({ description: 'Only deliveries in this status.' }),
  limit: pageLimit(500, 'Deliveries to answer, newest first, 1 to 500 (default 100).'),
});

export const EndpointSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(z.string()),
    enabled: z.boolean(),
    disabledReason: z
      .string()
      .nullable()
      .openapi({ description: 'Why it is disabled: by an operator, a 410, or failing for days.' }),
    failingSince: z.iso.datetime().nullable().openapi({ description: 'Since when every attempt has failed, or null.' }),
    previousSecretExpiresAt: z.iso
      .datetime()
      .nullable()
      .openapi({ description: 'Until when the secret before the last rotation still signs beside the current one.' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi('WebhookEndpoint');

export const EndpointWithSecretSchema = EndpointSchema.extend({
  secret: z.string().openapi({
    description: 'The signing secret (`whsec_…`), shown only here: keep it to verify the `webhook-signature` header.',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  }),
}).openapi('WebhookEndpointWithSecret');

export const EndpointListSchema = z.object({ endpoints: z.array(EndpointSchema) }).openapi('WebhookEndpointList');

export const DeliverySchema = z
  .object({
    id: z.string(),
    endpointId: z.string(),
    eventId: z.string().openapi({ description: 'The `webhook-id` every attempt of the event carries.' }),
    eventType: z.string(),
    orderId: z.string(),
    orderVersion: z.int(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.int(),
    nextAttemptAt: z.iso.datetime().nullable().openapi({ description: 'When the next attempt is due, while pending.' }),
    lastAttemptAt: z.iso.datetime().nullable(),
    lastStatusCode: z.int().nullable(),
    lastError: z.string().nullable(),
    deliveredAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi('WebhookDelivery');

export const AttemptSchema = z
  .object({
    number: z.int().openapi({ description: 'The attempt’s number for this delivery, from 1.' }),
    attemptedAt: z.iso.datetime(),
    durationMs: z.int().openapi({ description: 'From sending the request to the answer, or to the failure.' }),
    statusCode: z.int().nullable().openapi({ description: 'The receiver’s status; null when no answer came.' }),
    error: z
      .string()
      .nullable()
      .openapi({ description: 'What went wrong, with the start of the receiver’s answer; null when delivered.' }),
    outcome: z.enum(ATTEMPT_OUTCOMES).openapi({
      description:
        '`delivered` (a 2xx), `retry` (another attempt is scheduled), `given-up` (no more attempts) or `gone` (a 410 disabled the endpoint).',
    }),
  })
  .openapi('WebhookAttempt');

export const DeliveryWithAttemptsSchema = DeliverySchema.extend({
  history: z.array(AttemptSchema).openapi({ description: 'Every attempt of the delivery, oldest first.' }),
}).openapi('WebhookDeliveryWithAttempts');

export const DeliveryListSchema = z.object({ deliveries: z.array(DeliverySchema) }).openapi('WebhookDeliveryList');

export const ResentSchema = z.object({ resent: z.int() }).openapi('WebhookResend');
