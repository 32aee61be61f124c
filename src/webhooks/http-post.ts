/**
 * One POST of a webhook message, bounded every way a receiver could hold us: a deadline for the
 * whole exchange, no redirect followed (a 3xx is an answer, and a failure), the answer's body read
 * up to a small cap and the connection dropped past it. Unless private targets are allowed, the
 * agents resolve every connection through the SSRF guard (safe-target.ts) and an IP literal is
 * checked before connecting (Node does no lookup for one). The body and headers are the caller's;
 * nothing here logs them.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { forbiddenRange, guardedLookup, hostOf, RefusedTargetError } from './safe-target.ts';

export interface PostOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  /** How much of the answer's body is read (and kept for the delivery's record). */
  maxResponseBytes?: number;
}

/** How an attempt went: the answer's status, or why there was none. */
export type PostResult =
  | { status: number; body: string; durationMs: number }
  | { error: string; refused: boolean; durationMs: number };

const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;

export class WebhookPoster {
  private readonly agents: { http: http.Agent; https: https.Agent };

  constructor(private readonly options: PostOptions) {
    const lookup = options.allowPrivate ? undefined : (guardedLookup as unknown as http.AgentOptions['lookup']);
    const common = { keepAlive: true, maxSockets: 64, ...(lookup ? { lookup } : {}) };
    this.agents = { http: new http.Agent(common), https: new https.Agent(common) };
  }

  post(url: string, headers: Record<string, string>, body: string): Promise<PostResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const target = new URL(url);
    if (!this.options.allowPrivate && isIP(hostOf(target))) {
      const range = forbiddenRange(hostOf(target));
      if (range)
        return Promise.resolve({ error: `${hostOf(target)} is a ${range} address: refused`, refused: true, durationMs: 0 });
    }
    const cap = this.options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    const secure = target.protocol === 'https:';
    return new Promise<PostResult>((resolve) => {
      let settled = false;
      const finish = (result: PostResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const request = (secure ? https : http).request(target, {
        method: 'POST',
        agent: secure ? this.agents.https : this.agents.http,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'order-service-webhooks/1',
        },
      });
      const timer = setTimeout(() => {
        finish({ error: `no answer within ${this.options.timeoutMs} ms`, refused: false, durationMs: elapsed() });
        request.destroy();
      }, this.options.timeoutMs);
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () =>
          finish({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), durationMs: elapsed() });
        response.on('data', (chunk: Buffer) => {
          if (size < cap) chunks.push(chunk.subarray(0, cap - size));
          size += chunk.length;
          if (size >= cap) {
            done();
            response.destroy();
          }
        });
        response.on('end', done);
        response.on('error', done);
        response.on('aborted', done);
      });
      request.on('error', (error) =>
        finish({ error: error.message, refused: error instanceof RefusedTargetError, durationMs: elapsed() }),
      );
      request.end(body);
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
