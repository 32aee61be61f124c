/**
 * The one HTTP client of the service's API, shared by the CLI's `load`, the benchmark and the
 * tests: it places orders and puts products, carries the API key on the client routes and the
 * admin token on /admin, and reads every answer whole. (Requests that must send exact bytes or
 * leave from a chosen address, as an attacker would, are test/support/raw-http.ts's.)
 */
import type { ProductInput } from '../db/stock.ts';

/**
 * The headers of a request to a client route (/orders): the API key as a bearer token, when there
 * is one, under the caller's own headers (which may name another Authorization on purpose). The
 * one place where this client adds the key.
 */
export function clientHeaders(apiKey: string | undefined, headers: Record<string, string> = {}): Record<string, string> {
  return { ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }), ...headers };
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON; undefined when it is empty or not JSON. Callers know its shape. */
  // biome-ignore lint/suspicious/noExplicitAny: a test or the CLI reads whatever route it asked
  json: any;
}

export class OrdersClient {
  constructor(
    readonly base: string,
    private readonly credentials: { apiKey?: string; adminToken?: string } = {},
  ) {}

  /**
   * A request to the service. On the client routes (/orders…) it carries the API key, unless
   * `headers` has an `authorization` of its own. A string body is sent as it is, anything else as
   * JSON; either way as `application/json` unless `headers` says otherwise.
   */
  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    { timeoutMs }: { timeoutMs?: number } = {},
  ): Promise<Answer> {
    const sent = path.startsWith('/orders') ? clientHeaders(this.credentials.apiKey, headers) : { ...headers };
    const init: RequestInit = { method, headers: sent, ...(timeoutMs ? { signal: AbortSignal.timeout(timeoutMs) } : {}) };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      sent['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${this.base}${path}`, init);
    const text = await res.text();
    let json: Answer['json'];
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, json, text };
  }

  /** A request under /admin, with the admin token. */
  admin(method: string, path: string, body?: unknown): Promise<Answer> {
    return this.request(method, `/admin${path}`, body, { authorization: `Bearer ${this.credentials.adminToken ?? ''}` });
  }

  /** Places an order; `timeoutMs` gives up waiting for the answer (the order may still be taken). */
  placeOrder(body: unknown, headers: Record<string, string> = {}, options: { timeoutMs?: number } = {}): Promise<Answer> {
    return this.request('POST', '/orders', body, headers, options);
  }

  putProduct(product: ProductInput): Promise<Answer> {
    const { sku, ...body } = product;
    return this.admin('PUT', `/products/${encodeURIComponent(sku)}`, body);
  }

  getOrder(id: string): Promise<Answer> {
    return this.request('GET', `/orders/${encodeURIComponent(id)}`);
  }
}
