/**
 * The variables of the process, its HTTP listeners and its API (keys, limits, what it remembers):
 * each one's validation, default and meaning, written once. config.ts reads them.
 */
import { z } from 'zod';
import { documented, int } from './fields.ts';

const split = (text: string) => text.split(',').map((entry) => entry.trim());

/** The process as a whole. */
export const PROCESS_ENV = {
  ROLE: documented(z.enum(['all', 'api', 'worker'], { error: 'must be one of all, api, worker' }).default('all'), {
    description:
      '`all` runs the API and every worker in one process; `api` only the API; `worker` only the workers. The outbox relay runs in every role.',
  }),
  LOG_LEVEL: documented(
    z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'must be one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
    { description: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.' },
  ),
};

/** The HTTP listeners: where, and their bounds on slow or greedy clients. */
export const HTTP_ENV = {
  PORT: documented(
    int(3000, 0).refine((p) => p <= 65535, { error: 'must be a port number (0-65535)' }),
    {
      description: 'HTTP port of the API (0-65535).',
    },
  ),
  HOST: documented(
    z
      .string()
      .regex(/^[A-Za-z0-9.:_-]{1,253}$/, { error: 'must be an IP address or a host name' })
      .default('127.0.0.1'),
    {
      description:
        "Address the API (and a worker's `METRICS_PORT`) listens on: `0.0.0.0` (or `::`) for every interface, as the Docker image sets it. The start log says the address bound.",
    },
  ),
  METRICS_PORT: documented(
    z.coerce
      .number({ error: 'must be a number' })
      .int({ error: 'must be a whole number' })
      .min(0, { error: 'must be a port number (0-65535)' })
      .max(65535, { error: 'must be a port number (0-65535)' })
      .optional(),
    {
      description:
        'For a `ROLE=worker` process: serve `/healthz`, `/readyz` and `/metrics` (its own job series) on this port. Unset: a worker process serves no HTTP.',
    },
  ),
  HTTP_HEADERS_TIMEOUT_MS: documented(int(10_000, 100), {
    description: 'A client must send its request headers within this long, or its connection is closed.',
  }),
  HTTP_REQUEST_TIMEOUT_MS: documented(int(30_000, 100), {
    description:
      'A client must send its whole request (headers and body) within this long, or its connection is closed (`408`): a body that trickles in holds no connection for long.',
  }),
  MAX_CONNECTIONS_PER_ADDRESS: documented(int(256, 0), {
    description:
      'Open HTTP connections one client address may hold; a connection beyond it is closed at once, unread. Not applied with `TRUST_PROXY=true` (every connection then comes from the proxy); `0`: no cap.',
  }),
  TRUST_PROXY: documented(z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'), {
    description:
      "`true`: take the client address from the last entry of `X-Forwarded-For` (set it only behind a proxy that appends it); else the TCP peer's address.",
  }),
  CORS_ORIGINS: documented(
    z
      .string()
      .transform(split)
      .refine((origins) => origins.every(isOrigin), {
        error: 'must be a comma-separated list of origins such as https://shop.example (scheme, host, optional port; no path)',
      })
      .optional(),
    {
      description:
        'Comma-separated origins (`https://shop.example`) whose browsers may call the client routes; the service answers their preflights. Unset: no CORS.',
    },
  ),
};

/** The API's keys, limits and what it remembers. */
export const API_ENV = {
  ADMIN_TOKEN: documented(z.string().min(16, { error: 'must be at least 16 characters' }).optional(), {
    description:
      'Bearer token for `/admin/*`, at least 16 characters. When unset, a random one is generated and logged at start (it changes at every start).',
    unset: 'generated',
    secret: true,
  }),
  WEBHOOK_SECRET: documented(z.string().min(16, { error: 'must be at least 16 characters' }).optional(), {
    description:
      'HMAC-SHA256 key for `X-Signature` on `/webhooks/carrier`, at least 16 characters. When unset, a random one is generated and logged at start.',
    unset: 'generated',
    secret: true,
  }),
  WEBHOOK_TOLERANCE_S: documented(int(300, 1), {
    description:
      "How far, in seconds, a carrier delivery's signed timestamp may be from now before it is refused (`401`) as a replay.",
  }),
  API_KEYS: documented(
    z
      .string()
      .transform(split)
      .refine((keys) => keys.every((key) => /^[\x21-\x7e]{16,}$/.test(key)), {
        error: 'must be a comma-separated list of keys, each at least 16 visible ASCII characters',
      })
      .optional(),
    {
      description:
        'Comma-separated keys for the client routes (`/orders…`), each at least 16 visible ASCII characters; one per storefront, several at once so that a key is rotated without downtime. When unset, one is generated and logged at start (`apiKey`).',
      unset: 'generated',
      secret: true,
    },
  ),
  API_KEY: documented(
    z
      .string()
      .regex(/^[\x21-\x7e]{16,}$/, { error: 'must be at least 16 visible ASCII characters' })
      .optional(),
    { description: "For the CLI's `load`: the key it sends (else the first of `API_KEYS`).", secret: true },
  ),
  MAX_ORDER_TOTAL_CENTS: documented(int(10_000_000, 1), {
    description: 'An order whose total is over this is refused with `422`.',
  }),
  RETURN_WINDOW_DAYS: documented(int(30, 1).pipe(z.number().max(3650, { error: 'must be at most 3650 (ten years)' })), {
    description: 'How many days after delivery a return may be opened; a later one is refused with `409`.',
  }),
  API_KEY_RATE_LIMIT: documented(int(5_000, 0), {
    description: 'Requests a second per API key on the client routes, over every API process; `0`: no limit.',
  }),
  ADDRESS_RATE_LIMIT: documented(int(60, 0), {
    description: 'Requests a minute per client address on the client routes without a valid API key; `0`: no limit.',
  }),
  ADMIN_AUTH_FAILURE_LIMIT: documented(int(10, 0), {
    description:
      'Wrong admin credentials a minute per client address, after which that address is refused (`429`) until the minute is over; `0`: no limit.',
  }),
  IDEMPOTENCY_TTL_MS: documented(int(24 * 60 * 60 * 1000, 1), {
    description: 'How long an `Idempotency-Key` is remembered (24 h).',
  }),
};

/** `https://shop.example` or `http://localhost:5173`: what a browser sends in `Origin`. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return /^https?:$/.test(url.protocol) && url.origin === value;
  } catch {
    return false;
  }
}
