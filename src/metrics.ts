/**
 * Prometheus metrics, one registry per running service (so that several services in one process,
 * as in the tests, never share a series). What the database knows (orders by status, transitions,
 * outbox lag) and what Redis knows (queue depths) is read at scrape time, so it is true across
 * every process; what only this process sees (HTTP latency, the jobs it ran) is recorded as it
 * happens.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Db } from './db/client.ts';
import { countOrdersByStatus, transitionsSince } from './db/order-stats.ts';
import { outboxLagMs, pendingOutboxCount } from './db/outbox.ts';
import type { Queues } from './queues/queues.ts';
import type { QueueName } from './queues/routing.ts';
import { oldestPendingByEndpoint } from './db/webhook-deliveries.ts';

/** How a webhook delivery attempt ended: delivered, to be retried, given up (or its endpoint disabled). */
export type WebhookOutcome = 'delivered' | 'retry' | 'given_up' | 'skipped';

/** How one run of a job ended: `retried` will run again, `failed` will not. */
export type JobOutcome = 'completed' | 'retried' | 'failed' | 'delayed';

/** One run of a job, as the workers report it. */
export interface JobReport {
  queue: QueueName;
  outcome: JobOutcome;
  durationMs: number;
}

export interface MetricsSources {
  db: Db;
  queues?: Queues;
  /** True while another database claims this process's queue prefix. */
  prefixConflict?: () => boolean;
  now?: () => number;
}

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const;

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  private readonly jobs: Counter<'queue' | 'outcome'>;
  private readonly jobDuration: Histogram<'queue' | 'outcome'>;
  private readonly foreignJobs: Counter<'queue'>;
  private readonly webhookAttempts: Counter<'outcome'>;

  constructor(sources: MetricsSources) {
    const { db, queues } = sources;
    const now = sources.now ?? Date.now;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    new Gauge({
      name: 'orders_by_status',
      help: 'Orders resting in each status.',
      labelNames: ['status'],
      registers,
      async collect() {
        for (const [status, n] of Object.entries(await countOrdersByStatus(db))) this.set({ status }, n);
      },
    });

    // A running total over the append-only timeline, read incrementally from the last entry seen.
    let lastEntry = 0;
    new Counter({
      name: 'orders_transitions_total',
      help: 'Order status transitions recorded, by event.',
      labelNames: ['event'],
      registers,
      async collect() {
        const { lastId, byEvent } = await transitionsSince(db, lastEntry);
        lastEntry = lastId;
        for (const [event, n] of byEvent) this.inc({ event }, n);
      },
    });

    // This process's own counts, kept on its connection: each process reports its own.
    const connectionCounter = (name: string, help: string, read: () => number) => {
      let seen = 0;
      new Counter({
        name,
        help,
        registers,
        collect() {
          const count = read();
          this.inc(count - seen);
          seen = count;
        },
      });
    };
    connectionCounter(
      'orders_db_transaction_retries_total',
      'Write transactions this process ran again after a serialization failure or a deadlock (PostgreSQL).',
      () => db.connection.transactionRetries,
    );
    connectionCounter(
      'orders_db_write_transactions_total',
      'Write transactions this process committed.',
      () => db.connection.writeTransactions,
    );

    new Gauge({
      name: 'orders_outbox_lag_seconds',
      help: 'Age of the oldest outbox event not yet handed to a queue (0 when drained).',
      registers,
      async collect() {
        this.set((await outboxLagMs(db, now())) / 1000);
      },
    });

    new Gauge({
      name: 'orders_outbox_pending',
      help: 'Outbox events not yet handed to a queue.',
      registers,
      async collect() {
        this.set(await pendingOutboxCount(db));
      },
    });

    const { prefixConflict } = sources;
    if (prefixConflict) {
      new Gauge({
        name: 'orders_queue_prefix_conflict',
        help: '1 while another database claims this QUEUE_PREFIX on the same Redis.',
        registers,
        collect() {
          this.set(prefixConflict() ? 1 : 0);
        },
      });
    }

    if (queues) {
      new Gauge({
        name: 'orders_queue_jobs',
        // Bounded: the queues' connection gives up on a command after REDIS_COMMAND_TIMEOUT_MS.
        help: 'Jobs in each queue, by state (absent while Redis does not answer).',
        labelNames: ['queue', 'state'],
        registers,
        async collect() {
          this.reset();
          await Promise.all(
            Object.values(queues).map(async (queue) => {
              try {
                const counts = await queue.getJobCounts(...QUEUE_STATES);
                for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
              } catch {
                // Redis away: say nothing rather than a wrong zero; /readyz reports the outage.
              }
            }),
          );
        },
      });
    }

    this.jobs = new Counter({
      name: 'orders_jobs_total',
      help: 'Jobs run by this process, by queue and outcome (completed, retried, failed, delayed).',
      labelNames: ['queue', 'outcome'],
      registers,
    });
    this.jobDuration = new Histogram({
      name: 'orders_job_duration_seconds',
      help: 'Time spent running a job, by queue and outcome.',
      labelNames: ['queue', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
      registers,
    });
    this.foreignJobs = new Counter({
      name: 'orders_foreign_jobs_total',
      help: 'Jobs for orders this database does not know: another deployment shares the queue prefix.',
      labelNames: ['queue'],
      registers,
    });
    this.webhookAttempts = new Counter({
      name: 'orders_webhook_deliveries_total',
      help: 'Webhook delivery attempts this process made, by outcome (delivered, retried, given_up).',
      labelNames: ['outcome'],
      registers,
    });
    new Gauge({
      name: 'orders_webhook_oldest_pending_seconds',
      help: 'Per endpoint, how long its oldest pending webhook delivery has been owed (absent when none is).',
      labelNames: ['endpoint'],
      registers,
      async collect() {
        this.reset();
        const at = now();
        for (const { endpointId, oldest } of await oldestPendingByEndpoint(db)) {
          this.set({ endpoint: endpointId }, Math.max(0, at - oldest) / 1000);
        }
      },
    });
    this.httpDuration = new Histogram({
      name: 'orders_http_request_duration_seconds',
      help: 'HTTP request latency, by method, route and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
  }

  /** Records a job a worker of this process finished running, whatever came of it. */
  readonly observeJob = (report: JobReport): void => {
    const labels = { queue: report.queue, outcome: report.outcome };
    this.jobs.inc(labels);
    this.jobDuration.observe(labels, report.durationMs / 1000);
  };

  /** Records how a webhook delivery attempt of this process ended. */
  readonly observeWebhook = (outcome: WebhookOutcome): void => {
    if (outcome === 'skipped') return;
    this.webhookAttempts.inc({ outcome: outcome === 'retry' ? 'retried' : outcome });
  };

  readonly observeForeignJob = (queue: string): void => {
    this.foreignJobs.inc({ queue });
  };

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }
}
