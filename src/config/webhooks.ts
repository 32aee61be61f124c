/**
 * The variables of outbound webhooks: where endpoints may point, how deliveries are sent, retried
 * and given up, and how long a rotated secret keeps signing. Each one's validation, default and
 * meaning, written once; config.ts reads them.
 */
import { z } from 'zod';
import { documented, int } from './fields.ts';

export const WEBHOOKS_ENV = {
  WEBHOOK_ALLOW_PRIVATE_TARGETS: documented(z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'), {
    description:
      '`true` lets outbound webhook endpoints be `http://` and point at loopback, private and link-local addresses: for tests and local development only. Otherwise only `https://` to public addresses, checked at registration and, after DNS, on every connection.',
  }),
  WEBHOOK_TIMEOUT_MS: documented(int(10_000, 100), {
    description:
      'How long one webhook delivery attempt may take, connection to answer (at least 100); past it the attempt failed and is retried.',
  }),
  WEBHOOK_CONCURRENCY: documented(int(16, 1), {
    description:
      'Webhook delivery attempts in flight per worker process, on their own queue (`webhook-delivery`): they never take a slot from order processing.',
  }),
  WEBHOOK_ENDPOINT_CONCURRENCY: documented(int(2, 1), {
    description:
      'Of those, at most this many to one endpoint at once; more of its attempts wait in line for them, up to half of WEBHOOK_CONCURRENCY in all, and the rest in the queue, so that a slow receiver leaves the other endpoints at least half the slots.',
  }),
  WEBHOOK_RETRY_BASE_MS: documented(int(30_000, 1), {
    description:
      'First wait after a failed attempt; each next one doubles, up to `WEBHOOK_RETRY_MAX_DELAY_MS`, each drawn between half and all of it (jitter).',
  }),
  WEBHOOK_RETRY_MAX_DELAY_MS: documented(int(6 * 60 * 60 * 1000, 1), {
    description: 'The longest wait between two attempts (6 h).',
  }),
  WEBHOOK_GIVE_UP_AFTER_MS: documented(int(3 * 24 * 60 * 60 * 1000, 1), {
    description:
      'A delivery still failing this long after its event (3 days) is given up and recorded; it can be resent by hand.',
  }),
  WEBHOOK_DISABLE_AFTER_MS: documented(int(5 * 24 * 60 * 60 * 1000, 1), {
    description:
      'An endpoint whose every attempt has failed for this long (5 days) is disabled; a `410 Gone` disables it at once. The console and `GET /admin/webhook-endpoints/{id}` say why.',
  }),
  WEBHOOK_SECRET_GRACE_MS: documented(int(24 * 60 * 60 * 1000, 0), {
    description: 'After a secret rotation, how long the old secret keeps signing beside the new one (24 h).',
  }),
  WEBHOOK_ENDPOINT_CACHE_MS: documented(int(1_000, 0), {
    description:
      'How long each process keeps its list of subscribed endpoints, so that a transition reads the endpoints table at most this often; a change made through this process is seen at once, through another within this long. `0`: read at every transition.',
  }),
};

type WebhooksEnv = { [K in keyof typeof WEBHOOKS_ENV]: z.output<(typeof WEBHOOKS_ENV)[K]> };

/** The webhook settings the environment gives. */
export function webhooksConfig(e: WebhooksEnv) {
  return {
    allowPrivateTargets: e.WEBHOOK_ALLOW_PRIVATE_TARGETS === 'true',
    timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    /** Attempts in flight per process, and per endpoint. */
    concurrency: e.WEBHOOK_CONCURRENCY,
    perEndpoint: e.WEBHOOK_ENDPOINT_CONCURRENCY,
    schedule: {
      baseMs: e.WEBHOOK_RETRY_BASE_MS,
      maxDelayMs: Math.max(e.WEBHOOK_RETRY_MAX_DELAY_MS, e.WEBHOOK_RETRY_BASE_MS),
      giveUpAfterMs: e.WEBHOOK_GIVE_UP_AFTER_MS,
    },
    disableAfterMs: e.WEBHOOK_DISABLE_AFTER_MS,
    secretGraceMs: e.WEBHOOK_SECRET_GRACE_MS,
    endpointCacheMs: e.WEBHOOK_ENDPOINT_CACHE_MS,
  };
}
