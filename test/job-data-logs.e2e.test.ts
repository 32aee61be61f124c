/**
 * Job data comes from Redis, where anything with access can write anything: a job whose order id is
 * megabytes long fails loudly, and no log line about it carries more than a short prefix of it; a
 * job whose stored data is not JSON at all goes to the failed set at once instead of staying active.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startServiceProcess, type ServiceProcess } from './support/processes.ts';
import { storeEnv } from './support/store.ts';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const undo of cleanups.reverse()) await Promise.resolve(undo()).catch(() => {});
});

let worker: ServiceProcess;
let queue: Queue;
let redis: Redis;

describe('job data from Redis', () => {
  it('never writes more than a short prefix of a huge job field into a log line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orders-jobdata-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const prefix = `jobdata${Date.now().toString(36)}`;
    worker = await startServiceProcess({
      ...(await storeEnv(dir)),
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: prefix,
      ROLE: 'worker',
    });
    cleanups.push(() => worker.kill());
    const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
    redis = connection;
    queue = new Queue('payment', { connection, prefix });
    cleanups.push(async () => {
      await queue.close();
      connection.disconnect();
    });

    const huge = `ord_${'x'.repeat(5 * 1024 * 1024)}`;
    const job = await queue.add('OrderPlaced', { orderId: huge, outboxId: 1 }, { attempts: 1 });
    const deadline = Date.now() + 30_000;
    while (!(await job.isFailed()) && Date.now() < deadline) await sleep(50);
    expect(await job.isFailed()).toBe(true);
    await sleep(200); // the failure's log line follows the move to the failed set
    const lines = worker.logs.map((entry) => JSON.stringify(entry));
    expect(lines.some((l) => l.includes('job for an order this database does not know'))).toBe(true);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(4_096);
  });

  it('fails a job whose stored data is not JSON at once, with its reason, instead of leaving it active', async () => {
    const job = await queue.add('OrderPlaced', { orderId: 'ord_x', outboxId: 1 }, { attempts: 3, delay: 1_500 });
    // Overwritten in Redis before its delay ends, as a hand or another program might.
    await redis.hset(`${queue.qualifiedName}:${job.id}`, 'data', '{not json');
    const deadline = Date.now() + 30_000;
    while (!(await queue.getJobState(job.id!)).startsWith('failed') && Date.now() < deadline) await sleep(100);
    expect(await queue.getJobState(job.id!)).toBe('failed');
    // Read raw: BullMQ's own reader cannot parse the job either.
    const stored = await redis.hgetall(`${queue.qualifiedName}:${job.id}`);
    expect(stored.failedReason).toMatch(/malformed job data/);
    expect(Number(stored.atm)).toBe(1);
    expect(await queue.getActiveCount()).toBe(0);
  });
});
