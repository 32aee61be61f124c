/**
 * One webhook delivery: its event, where it goes and how it stands, and every attempt of it (when,
 * how long, what the receiver answered and what followed), so that an operator sees why an
 * integrator's endpoint fails without reading logs. Offers the resend, back to this page.
 */
import type { AttemptRow, DeliveryView } from '../db/webhook-deliveries.ts';
import type { AttemptOutcomeName } from '../db/tables/webhooks/values.ts';
import { Badge, Layout, Notice, orderHref, time } from './layout.tsx';
import { DeliveryBadge, deliveryHref, resendDeliveryPath } from './webhook-parts.tsx';
import { WEBHOOK_OUTCOMES, type WebhookOutcome } from './webhooks-page.tsx';

const OUTCOME_TONE = { delivered: 'ok', retry: 'warn', 'given-up': 'bad', gone: 'bad' } as const satisfies Record<
  AttemptOutcomeName,
  string
>;

export function DeliveryPage(props: {
  delivery: DeliveryView;
  endpoint: string;
  attempts: readonly AttemptRow[];
  outcome?: WebhookOutcome | undefined;
}) {
  const { delivery: d, attempts } = props;
  const outcome = props.outcome ? WEBHOOK_OUTCOMES[props.outcome] : undefined;
  return (
    <Layout title={`Delivery ${d.id}`}>
      <h1 class="mono">{d.id}</h1>
      {outcome ? <Notice tone={outcome.tone}>{outcome.text}</Notice> : ''}
      <dl>
        <dt>Event</dt>
        <dd class="mono">
          {d.eventType} <span class="muted">v{d.orderVersion}</span> · webhook-id {d.eventId}
        </dd>
        <dt>Order</dt>
        <dd class="mono">
          <a href={orderHref(d.orderId)}>{d.orderId}</a>
        </dd>
        <dt>Endpoint</dt>
        <dd class="mono" title={d.endpointId}>
          {props.endpoint}
        </dd>
        <dt>Status</dt>
        <dd>
          <DeliveryBadge status={d.status} />
          {d.status === 'PENDING' ? ` next attempt ${time(d.nextAttemptAt)}` : ''}
        </dd>
      </dl>
      <form method="post" action={resendDeliveryPath(d.id)}>
        <input type="hidden" name="back" value={deliveryHref(d.id)} />
        <button type="submit">Resend</button>
      </form>
      <h2>Attempts</h2>
      {attempts.length === 0 ? (
        <p class="empty">No attempt yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>#</th>
              <th>When</th>
              <th>Took</th>
              <th>Answer</th>
              <th>Then</th>
            </tr>
          </thead>
          <tbody>
            {attempts.map((a) => (
              <tr>
                <td>{a.number}</td>
                <td>{time(a.attemptedAt)}</td>
                <td>{a.durationMs} ms</td>
                <td class="mono">{a.error ?? String(a.statusCode)}</td>
                <td>
                  <Badge tone={OUTCOME_TONE[a.outcome]}>{a.outcome}</Badge>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}
