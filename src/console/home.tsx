/**
 * The console's home: orders by status (refreshed live by the script when it runs), the stuck
 * orders, the latest orders and the failed jobs of every queue.
 */
import { ORDER_STATUSES } from '../domain/order-machine.ts';
import { QUEUE_NAMES } from '../queues/routing.ts';
import type { HomeData } from './data.ts';
import { HOME_LIST_SIZE } from './data.ts';
import { JobStateBadge, Layout, Notice, OrdersTable, StatusBadge, ago, duration, orderHref } from './layout.tsx';
import { CONSOLE_PATH } from './paths.ts';

/** What the home page says after a bulk retry, from codes in its redirect, never from text. */
const HOME_OUTCOMES = ['retried-many', 'retried-none', 'redis-unavailable'] as const;
export type HomeOutcome = (typeof HOME_OUTCOMES)[number];

export function isHomeOutcome(value: string | undefined): value is HomeOutcome {
  return (HOME_OUTCOMES as readonly (string | undefined)[]).includes(value);
}

function HomeNotice(props: { flash: { outcome: HomeOutcome; n: number; of: number } }) {
  const { outcome, n, of } = props.flash;
  if (outcome === 'retried-many') {
    return (
      <Notice tone="ok">
        Retried {n} of {of} failed job{of === 1 ? '' : 's'}
        {n < of ? ' (the others were no longer failed)' : ''}; each is on its order’s timeline.
      </Notice>
    );
  }
  if (outcome === 'retried-none') return <Notice tone="bad">No failed job to retry.</Notice>;
  return <Notice tone="bad">Redis did not answer in time; some jobs may not have been retried. Look again shortly.</Notice>;
}

export function HomePage(props: { data: HomeData; flash?: { outcome: HomeOutcome; n: number; of: number } | undefined }) {
  const { counts, failedJobs, now } = props.data;
  return (
    <Layout title="Home">
      {props.flash ? <HomeNotice flash={props.flash} /> : ''}
      <h1>Orders</h1>
      <section data-live-counts={`${CONSOLE_PATH}/counts`} aria-label="Orders by status">
        <div class="tiles">
          <a class="tile" href={`${CONSOLE_PATH}/orders`}>
            <span class="muted">All orders</span>
            <span class="n" data-count="total">
              {counts.total}
            </span>
          </a>
          <a class={`tile${counts.stuck > 0 ? ' alert' : ''}`} href={`${CONSOLE_PATH}/orders?stuck=true`}>
            <span class="muted">Stuck</span>
            <span class="n" data-count="stuck">
              {counts.stuck}
            </span>
          </a>
          {ORDER_STATUSES.map((status) => (
            <a class="tile" href={`${CONSOLE_PATH}/orders?status=${status}`}>
              <StatusBadge status={status} />
              <span class="n" data-count={status}>
                {counts.ordersByStatus[status]}
              </span>
            </a>
          ))}
        </div>
        <p class="muted">
          Counted at <span data-refreshed>{new Date(now).toLocaleTimeString('en-GB', { timeZone: 'UTC' })} UTC</span>.
        </p>
      </section>

      <h2>
        Stuck orders <small>not at rest and not moved for {duration(counts.stuckAfterMs)} (STUCK_AFTER_MS)</small>
      </h2>
      <OrdersTable orders={props.data.stuck} now={now} empty="No order is stuck." />
      {counts.stuck > HOME_LIST_SIZE ? (
        <p>
          <a href={`${CONSOLE_PATH}/orders?stuck=true`}>All {counts.stuck} stuck orders →</a>
        </p>
      ) : (
        ''
      )}

      <h2>Failed jobs</h2>
      {counts.failedJobs ? (
        <table>
          <thead>
            <tr>
              {QUEUE_NAMES.map((q) => (
                <th class="num">{q}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            <tr>
              {QUEUE_NAMES.map((q) => (
                <td class="num" data-failed={q}>
                  {counts.failedJobs![q]}
                </td>
              ))}
            </tr>
          </tbody>
        </table>
      ) : (
        <Notice tone="warn">Failed jobs unknown: {counts.redisError}</Notice>
      )}
      {failedJobs.ok ? (
        failedJobs.value.length === 0 ? (
          <p class="empty">No job has failed.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Queue</th>
                <th>Job</th>
                <th>Order</th>
                <th>State</th>
                <th class="num">Attempts</th>
                <th>Failed</th>
                <th>Last error</th>
              </tr>
            </thead>
            <tbody>
              {failedJobs.value.map((job) => (
                <tr>
                  <td>{job.queue}</td>
                  <td class="mono">{job.event}</td>
                  <td>
                    {job.orderId ? (
                      <a class="mono" href={orderHref(job.orderId)}>
                        {job.orderId}
                      </a>
                    ) : (
                      <span class="mono">{job.id}</span>
                    )}
                  </td>
                  <td>
                    <JobStateBadge state={job.state} />
                  </td>
                  <td class="num">{job.attempts}</td>
                  <td>{job.finishedAt ? ago(job.finishedAt, now) : '—'}</td>
                  <td class="error-text">{job.lastError ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      ) : (
        ''
      )}
      {failedJobs.ok && failedJobs.value.length > 0 ? (
        <form class="inline" method="post" action={`${CONSOLE_PATH}/failed/retry`}>
          {failedJobs.value.map((job) => (
            <input type="hidden" name="job" value={job.id} />
          ))}
          <button type="submit">
            Retry these {failedJobs.value.length} job{failedJobs.value.length === 1 ? '' : 's'}
          </button>{' '}
          <span class="muted">Each gets a fresh set of attempts, as Retry on its order’s page does.</span>
        </form>
      ) : (
        ''
      )}
      {props.data.settledFailedJobs.length > 0 ? (
        <p class="muted">
          Not listed: {props.data.settledFailedJobs.length} failed job{props.data.settledFailedJobs.length === 1 ? '' : 's'} of
          orders that have ended since, with nothing left to settle (
          {props.data.settledFailedJobs.map((job, i) => (
            <>
              {i > 0 ? ', ' : ''}
              <a class="mono" href={job.orderId ? orderHref(job.orderId) : '#'}>
                {job.event}
              </a>
            </>
          ))}
          ).
        </p>
      ) : (
        ''
      )}

      <h2>
        Latest orders{' '}
        <small>
          <a href={`${CONSOLE_PATH}/orders`}>all orders →</a>
        </small>
      </h2>
      <OrdersTable orders={props.data.recent} now={now} empty="No order yet." />
    </Layout>
  );
}
