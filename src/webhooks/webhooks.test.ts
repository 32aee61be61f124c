/**
 * The pure parts of outbound webhooks (the unit tier): the signature as the `standardwebhooks`
 * package reads it, the retry schedule, the address policy, and the event table read off the
 * lifecycle.
 */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { FACTS, ORDER_EVENTS } from '../domain/events.ts';
import { ORDER_STATUSES, TRANSITIONS } from '../domain/order-machine.ts';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_EVENTS_BY_STEP, webhookEventsOf } from '../domain/webhook-events.ts';
import { nextAttempt } from './retry-schedule.ts';
import { forbiddenRange, urlProblem } from './safe-target.ts';
import { isSecret, newSecret, signature, signedHeaders } from './signature.ts';

describe('the webhook signature', () => {
  it('is what standardwebhooks signs, and verifies with it', () => {
    const secret = newSecret();
    expect(isSecret(secret)).toBe(true);
    const body = JSON.stringify({ id: 'msg_1', type: 'order.paid', data: { ünïcode: '✓' } });
    const at = new Date();
    const ts = Math.floor(at.getTime() / 1000);
    expect(signature(secret, 'msg_1', ts, body)).toBe(new Webhook(secret).sign('msg_1', at, body));
    expect(new Webhook(secret).verify(body, signedHeaders([secret], 'msg_1', ts, body))).toMatchObject({ type: 'order.paid' });
  });

  it('refuses a changed body, another secret, and a replay from long ago', () => {
    const secret = newSecret();
    const ts = Math.floor(Date.now() / 1000);
    const headers = signedHeaders([secret], 'msg_2', ts, '{"a":1}');
    expect(() => new Webhook(secret).verify('{"a":2}', headers)).toThrow();
    expect(() => new Webhook(newSecret()).verify('{"a":1}', headers)).toThrow();
    const old = signedHeaders([secret], 'msg_2', ts - 3600, '{"a":1}');
    expect(() => new Webhook(secret).verify('{"a":1}', old)).toThrow(/timestamp/i);
  });

  it('during a rotation, carries a signature per secret, each enough on its own', () => {
    const [current, previous] = [newSecret(), newSecret()];
    const ts = Math.floor(Date.now() / 1000);
    const headers = signedHeaders([current, previous], 'msg_3', ts, '{}');
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    for (const secret of [current, previous]) expect(() => new Webhook(secret).verify('{}', headers)).not.toThrow();
  });
});

describe('the retry schedule', () => {
  const schedule = { baseMs: 30_000, maxDelayMs: 6 * 3600_000, giveUpAfterMs: 3 * 24 * 3600_000 };

  it('backs off exponentially with jitter, capped, and gives up after about three days', () => {
    const start = 1_000_000;
    let now = start;
    let attempts = 0;
    const waits: number[] = [];
    for (;;) {
      attempts++;
      const next = nextAttempt(schedule, attempts, start, now, 0.5);
      if (!('retryAt' in next)) break;
      waits.push(next.retryAt - now);
      now = next.retryAt;
    }
    expect(waits[0]).toBe(22_500);
    expect(waits[1]).toBe(45_000);
    expect(Math.max(...waits)).toBeLessThanOrEqual(schedule.maxDelayMs);
    expect(now - start).toBeLessThanOrEqual(schedule.giveUpAfterMs);
    expect(now - start).toBeGreaterThan(schedule.giveUpAfterMs - schedule.maxDelayMs);
    expect(attempts).toBeGreaterThan(10);
  });

  it('draws each wait between half and all of its step', () => {
    const low = nextAttempt(schedule, 3, 0, 0, 0);
    const high = nextAttempt(schedule, 3, 0, 0, 0.999_999);
    expect(low).toEqual({ retryAt: 60_000 });
    expect('retryAt' in high && high.retryAt).toBeGreaterThan(119_000);
  });
});

describe('where webhooks may go', () => {
  it('only to public addresses, judged by ipaddr.js ranges', () => {
    for (const address of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '0.0.0.0',
      '::1',
      'fe80::1',
      'fd00:ec2::254',
      '::ffff:127.0.0.1',
      '100.64.0.1',
      '224.0.0.1',
    ]) {
      expect(forbiddenRange(address), address).toBeDefined();
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111'])
      expect(forbiddenRange(address), address).toBeUndefined();
  });

  it('over https unless private targets are allowed, without credentials in the URL', () => {
    expect(urlProblem('https://hooks.example.com/orders', false)).toBeUndefined();
    expect(urlProblem('http://hooks.example.com/orders', false)).toMatch(/https/);
    expect(urlProblem('http://127.0.0.1:8080/x', true)).toBeUndefined();
    expect(urlProblem('https://user:pw@hooks.example.com/', false)).toMatch(/credentials/);
    expect(urlProblem('ftp://hooks.example.com/', true)).toMatch(/http/);
    expect(urlProblem('not a url', false)).toMatch(/absolute URL/);
  });
});

describe('the webhook event table', () => {
  it('has a row for every step of the lifecycle and names every type it sends', () => {
    expect(Object.keys(WEBHOOK_EVENTS_BY_STEP).sort()).toEqual(['OrderPlaced', ...ORDER_EVENTS, ...FACTS].sort());
    expect(WEBHOOK_EVENT_TYPES).toEqual(
      expect.arrayContaining([
        'order.created',
        'order.paid',
        'order.payment_failed',
        'order.stock_reserved',
        'order.shipped',
        'order.delivered',
        'order.failed',
        'order.cancelled',
        'order.refund_requested',
        'order.refunded',
        'order.return_requested',
        'order.return_received',
        'order.return_refunded',
        'order.return_rejected',
        'order.return_cancelled',
      ]),
    );
  });

  it('announces every ending: each transition into FAILED sends order.failed, into CANCELLED order.cancelled', () => {
    for (const from of ORDER_STATUSES) {
      for (const [event, t] of Object.entries(TRANSITIONS[from])) {
        if (t.to === 'FAILED') expect(webhookEventsOf(event), event).toContain('order.failed');
        if (t.to === 'CANCELLED') expect(webhookEventsOf(event), event).toContain('order.cancelled');
        if (t.to !== from && t.to !== 'PAYMENT_PENDING') expect(webhookEventsOf(event).length, event).toBeGreaterThan(0);
      }
    }
  });
});
