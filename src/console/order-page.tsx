/**
 * One order as an operator needs it: where it is and why, its items and shipment, the whole
 * timeline, the jobs it caused (with their state, attempts and last error), the messages the
 * customer got, its refunds and returns, and the actions: retry a failed job, cancel the order,
 * refund part of it, receive or reject a return.
 */
import { awaitsGatewayAnswer, canApply, isReachedBy } from '../domain/order-machine.ts';
import type { PaymentStatus } from '../domain/payment.ts';
import { needsAttention, type OrderData } from './data.ts';
import { MoneyBackSection } from './money-back-section.tsx';
import { Badge, JobStateBadge, Layout, Notice, StatusBadge, ago, duration, money, orderHref, time } from './layout.tsx';
import { DeliveriesTable } from './webhook-parts.tsx';

/** The outcome of an action, carried by the redirect back to the page as a code, never as text. */
const ACTION_OUTCOMES = {
  cancelled: { tone: 'ok', text: 'The order is cancelled. Its compensations (refund, stock release, message) are on their way.' },
  'already-cancelled': { tone: 'ok', text: 'The order was already cancelled; nothing changed.' },
  'cancel-refused': { tone: 'bad', text: 'The order can no longer be cancelled.' },
  'cancel-unconfirmed': { tone: 'bad', text: 'Nothing was cancelled: tick the confirmation box beside the button first.' },
  retried: { tone: 'ok', text: 'The job is back in its queue with a fresh set of attempts.' },
  'retry-not-failed': { tone: 'bad', text: 'The job is not failed (any more); nothing to retry.' },
  'retry-absent': { tone: 'bad', text: 'Redis has no such job; nothing to retry.' },
  'retry-unknown': { tone: 'bad', text: 'That is not one of this order’s jobs.' },
  'redis-unavailable': { tone: 'bad', text: 'Redis did not answer in time; nothing was retried. Try again shortly.' },
  'webhook-resent': { tone: 'ok', text: 'The webhook delivery is pending again; it goes out shortly, with the same webhook-id.' },
  'webhook-not-resent': { tone: 'bad', text: 'There is no such webhook delivery; nothing was resent.' },
  'refund-requested': { tone: 'ok', text: 'The refund is asked for: the gateway refunds it shortly.' },
  'refund-refused': { tone: 'bad', text: 'Nothing was refunded: the amount passes what is left of the capture.' },
  'refund-invalid': { tone: 'bad', text: 'Nothing was refunded: give a whole number of cents and a reason.' },
  'return-received': { tone: 'ok', text: 'The return is received: its units are back on sale and its refund is on its way.' },
  'return-already-received': { tone: 'ok', text: 'The return was already received; nothing moved twice.' },
  'return-rejected': { tone: 'ok', text: 'The return is rejected; its units may be returned again.' },
  'return-already-rejected': { tone: 'ok', text: 'The return was already rejected; nothing changed.' },
  'return-step-refused': { tone: 'bad', text: 'The return can no longer take that step.' },
} as const;
export type ActionOutcome = keyof typeof ACTION_OUTCOMES;

export function isActionOutcome(value: string | undefined): value is ActionOutcome {
  return value !== undefined && Object.hasOwn(ACTION_OUTCOMES, value);
}

export function OrderPage(props: { data: OrderData; outcome?: ActionOutcome | undefined; job?: string | undefined }) {
  const { order, now } = props.data;
  const outcome = props.outcome ? ACTION_OUTCOMES[props.outcome] : undefined;
  const cancellable = canApply(order.status, 'Cancelled');
  const address = order.shippingAddress;
  return (
    <Layout title={order.id}>
      <h1>
        <span class="mono">{order.id}</span>
        <StatusBadge status={order.status} />
        {props.data.stuck ? <Badge tone="bad">STUCK</Badge> : ''}
      </h1>
      {outcome ? (
        <Notice tone={outcome.tone}>
          {outcome.text}
          {props.job ? (
            <>
              {' '}
              <span class="mono">({props.job})</span>
            </>
          ) : (
            ''
          )}
          {props.outcome === 'cancel-refused' ? ` It is ${order.status}.` : ''}
        </Notice>
      ) : (
        ''
      )}
      {props.data.stuck ? <WhyStuck data={props.data} /> : ''}

      <div class="columns">
        <section>
          <h2>Order</h2>
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={order.status} />
              {order.reason ? <span> {order.reason}</span> : ''}
            </dd>
            <dt>Payment</dt>
            <dd>{order.paymentStatus}</dd>
            <dt>Stock</dt>
            <dd>{order.stockStatus}</dd>
            <dt>Customer</dt>
            <dd>
              <a href={`/admin/console/orders?customerId=${encodeURIComponent(order.customerId)}`}>{order.customerId}</a>
              {order.email ? <span class="muted"> {order.email}</span> : ''}
            </dd>
            <dt>Total</dt>
            <dd>{money(order.totalCents, order.currency)}</dd>
            <dt>Placed</dt>
            <dd>{time(order.createdAt)}</dd>
            <dt>Last moved</dt>
            <dd>
              {time(order.updatedAt)} <span class="muted">({ago(order.updatedAt, now)})</span>
            </dd>
          </dl>
          <h2>Actions</h2>
          {cancellable ? (
            <form class="inline" method="post" action={`${orderHref(order.id)}/cancel`}>
              <label>
                <input type="checkbox" name="confirm" value="yes" required /> Yes, cancel {order.id}
              </label>{' '}
              <button class="danger" type="submit">
                Cancel order
              </button>{' '}
              <span class="muted">Same rules as POST /orders/{'{id}'}/cancel: stock released, a capture refunded.</span>
            </form>
          ) : (
            <p class="muted">
              {isReachedBy(order.status, 'Cancelled')
                ? 'Already cancelled.'
                : `A ${order.status} order can no longer be cancelled.`}
            </p>
          )}
        </section>
        <section>
          <h2>Shipment</h2>
          <dl class="facts">
            <dt>Tracking number</dt>
            <dd class="mono">{order.trackingNumber ?? '—'}</dd>
            <dt>Ship to</dt>
            <dd>
              {address.name}, {address.line1}, {address.postalCode} {address.city}, {address.country}
            </dd>
          </dl>
          <h2>Items</h2>
          <table>
            <thead>
              <tr>
                <th>SKU</th>
                <th class="num">Quantity</th>
                <th class="num">Unit price</th>
                <th class="num">Line total</th>
              </tr>
            </thead>
            <tbody>
              {order.items.map((item) => (
                <tr>
                  <td class="mono">{item.sku}</td>
                  <td class="num">{item.quantity}</td>
                  <td class="num">{money(item.unitPriceCents, order.currency)}</td>
                  <td class="num">{money(item.unitPriceCents * item.quantity, order.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>

      <MoneyBackSection data={props.data} />

      <h2>
        Timeline <small>oldest first</small>
      </h2>
      <table>
        <thead>
          <tr>
            <th>At</th>
            <th>Event</th>
            <th>From</th>
            <th>To</th>
            <th>Detail</th>
          </tr>
        </thead>
        <tbody>
          {timelineRows(props.data).map((row) =>
            row.kind === 'event' ? (
              <tr>
                <td>{time(row.entry.at)}</td>
                <td class="mono">{row.entry.type}</td>
                <td>{row.entry.fromStatus ? <StatusBadge status={row.entry.fromStatus} /> : '—'}</td>
                <td>
                  {row.entry.fromStatus === row.entry.toStatus ? (
                    <span class="muted">unchanged</span>
                  ) : (
                    <StatusBadge status={row.entry.toStatus} />
                  )}
                </td>
                <td class="data mono">
                  {row.entry.data && Object.keys(row.entry.data).length > 0 ? JSON.stringify(row.entry.data) : ''}
                </td>
              </tr>
            ) : (
              <tr class="operator-action">
                <td>{time(row.action.at)}</td>
                <td class="mono">Operator {row.action.action}</td>
                <td colspan={2}>
                  by <strong class="mono">{row.action.actor}</strong>
                </td>
                <td class="data mono">
                  {row.action.outcome}
                  {row.action.jobId ? ` (${row.action.jobId})` : ''}
                </td>
              </tr>
            ),
          )}
        </tbody>
      </table>

      <h2>Jobs</h2>
      {props.data.waitingForRelay.length > 0 ? (
        <p class="muted">
          Waiting for the relay: <span class="mono">{props.data.waitingForRelay.join(', ')}</span>
        </p>
      ) : (
        ''
      )}
      <JobsTable data={props.data} />
      <AttemptsTable data={props.data} />

      <h2>Webhook deliveries</h2>
      {props.data.webhooks.deliveries.length === 0 ? (
        <p class="empty">No webhook endpoint was sent an event of this order.</p>
      ) : (
        <DeliveriesTable
          deliveries={props.data.webhooks.deliveries}
          endpoints={props.data.webhooks.endpoints}
          back={orderHref(order.id)}
        />
      )}

      <h2>Messages sent</h2>
      {props.data.messages.length === 0 ? (
        <p class="empty">No message sent to the customer yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Kind</th>
              <th>Sent</th>
            </tr>
          </thead>
          <tbody>
            {props.data.messages.map((m) => (
              <tr>
                <td class="mono">{m.kind}</td>
                <td>{time(m.sentAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}

/**
 * A payment deadline waits, delayed, for PAYMENT_TIMEOUT_MS whatever happens: once the gateway has
 * answered it will find nothing to do, and showing it as pending would suggest the order waits on it.
 */
function isMootDeadline(job: { queue: string; state: string }, order: { paymentStatus: PaymentStatus }): boolean {
  return job.queue === 'payment-deadline' && !awaitsGatewayAnswer(order) && (job.state === 'delayed' || job.state === 'waiting');
}

type TimelineRow =
  | { kind: 'event'; at: number; entry: OrderData['timeline'][number] }
  | { kind: 'action'; at: number; action: OrderData['actions'][number] };

/** The order's own events and what operators did to it, in the order they happened. */
function timelineRows(data: OrderData): TimelineRow[] {
  const rows: TimelineRow[] = [
    ...data.timeline.map((entry) => ({ kind: 'event' as const, at: entry.at, entry })),
    ...data.actions.map((action) => ({ kind: 'action' as const, at: action.at, action })),
  ];
  // Stable: an event and the action that caused it, at the same millisecond, keep their order.
  return rows.sort((a, b) => a.at - b.at);
}

/** Each failed attempt of the order's jobs, the ones before a success too. */
function AttemptsTable(props: { data: OrderData }) {
  const { attempts } = props.data;
  if (attempts.length === 0) return '';
  return (
    <>
      <h3>
        Failed attempts <small>oldest first; the latest 20 of each job</small>
      </h3>
      <table class="attempts">
        <thead>
          <tr>
            <th>At</th>
            <th>Queue</th>
            <th>Event</th>
            <th class="num">Attempt</th>
            <th>Error</th>
          </tr>
        </thead>
        <tbody>
          {attempts.map((a) => (
            <tr>
              <td>{time(a.at)}</td>
              <td>{a.queue}</td>
              <td class="mono" title={a.jobId}>
                {a.event}
              </td>
              <td class="num">{a.attempt}</td>
              <td class="error-text">{a.error}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function WhyStuck(props: { data: OrderData }) {
  const { order, now, jobs } = props.data;
  const failed = jobs.ok ? jobs.value.filter((job) => job.state === 'failed') : [];
  return (
    <Notice tone="warn">
      Not at rest, and not moved since {time(order.updatedAt)} ({ago(order.updatedAt, now)}; stuck after{' '}
      {duration(props.data.stuckAfterMs)}).{' '}
      {failed.length > 0
        ? `It waits on a failed ${failed.map((job) => `${job.queue} job (${job.event})`).join(' and a failed ')}: retry it below once the cause is fixed.`
        : jobs.ok
          ? 'No job of it has failed: the reconciler re-drives it from the database.'
          : 'Its jobs are unknown while Redis does not answer.'}
    </Notice>
  );
}

function JobsTable(props: { data: OrderData }) {
  const { jobs, now, order } = props.data;
  if (!jobs.ok) return <Notice tone="warn">Jobs unknown: {jobs.error}</Notice>;
  if (jobs.value.length === 0) return <p class="empty">No job yet.</p>;
  const absent = jobs.value.some((job) => job.state === 'absent');
  return (
    <>
      <table class="jobs">
        <thead>
          <tr>
            <th>Queue</th>
            <th>Event</th>
            <th>State</th>
            <th class="num">Attempts</th>
            <th>Finished</th>
            <th>Last error</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {jobs.value.map((job) => (
            <tr>
              <td>{job.queue}</td>
              <td class="mono" title={job.id}>
                {job.event}
              </td>
              <td>
                {isMootDeadline(job, order) ? (
                  <span class="muted" title="The gateway answered: when the deadline comes, it finds nothing to do.">
                    not needed
                  </span>
                ) : (
                  <JobStateBadge state={job.state} />
                )}
              </td>
              <td class="num">{job.state === 'absent' ? '—' : job.attempts}</td>
              <td>{job.finishedAt ? ago(job.finishedAt, now) : '—'}</td>
              <td class="error-text">{job.lastError ?? ''}</td>
              <td>
                {job.state === 'failed' && needsAttention(job, order) ? (
                  <form class="inline" method="post" action={`${orderHref(order.id)}/retry`}>
                    <input type="hidden" name="job" value={job.id} />
                    <button type="submit">Retry</button>
                  </form>
                ) : (
                  ''
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {absent ? (
        <p class="muted">
          <em>absent</em>: Redis keeps no such job: it finished and was cleaned up (after an hour), or it was never sent.
        </p>
      ) : (
        ''
      )}
    </>
  );
}
