/**
 * The console's webhook pieces: a table of deliveries (with a resend button each and a link to each
 * one's attempts), shown on an order's page and on the webhooks page, and the paths they link and
 * post to.
 */
import type { DeliveryView } from '../db/webhook-deliveries.ts';
import { Badge, orderHref, time } from './layout.tsx';
import { CONSOLE_PATH } from './paths.ts';

export const WEBHOOKS_PATH = `${CONSOLE_PATH}/webhooks`;

/** A delivery's own page, with its attempts. */
export function deliveryHref(id: string): string {
  return `${WEBHOOKS_PATH}/deliveries/${encodeURIComponent(id)}`;
}

export function resendDeliveryPath(id: string): string {
  return `${deliveryHref(id)}/resend`;
}

const TONE = { PENDING: 'warn', DELIVERED: 'ok', GIVEN_UP: 'bad' } as const;

export function DeliveryBadge(props: { status: DeliveryView['status'] }) {
  return <Badge tone={TONE[props.status]}>{props.status.replace('_', ' ')}</Badge>;
}

/** Deliveries with where they went; `back` is where a resend returns to. */
export function DeliveriesTable(props: {
  deliveries: readonly DeliveryView[];
  endpoints: ReadonlyMap<string, string>;
  back: string;
  showOrder?: boolean;
}) {
  return (
    <table>
      <thead>
        <tr>
          <th>Event</th>
          {props.showOrder ? <th>Order</th> : ''}
          <th>Endpoint</th>
          <th>Status</th>
          <th>Attempts</th>
          <th>Last answer</th>
          <th>When</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        {props.deliveries.map((d) => (
          <tr>
            <td class="mono">
              {d.eventType} <span class="muted">v{d.orderVersion}</span>
            </td>
            {props.showOrder ? (
              <td class="mono">
                <a href={orderHref(d.orderId)}>{d.orderId}</a>
              </td>
            ) : (
              ''
            )}
            <td class="mono" title={d.endpointId}>
              {props.endpoints.get(d.endpointId) ?? d.endpointId}
            </td>
            <td>
              <DeliveryBadge status={d.status} />
            </td>
            <td>
              <a href={deliveryHref(d.id)} title="Every attempt">
                {d.attempts}
              </a>
            </td>
            <td class="mono">{d.lastError ?? (d.lastStatusCode === null ? '—' : String(d.lastStatusCode))}</td>
            <td>
              {d.status === 'DELIVERED'
                ? time(d.deliveredAt)
                : d.status === 'PENDING'
                  ? `next ${time(d.nextAttemptAt)}`
                  : time(d.lastAttemptAt)}
            </td>
            <td>
              <form method="post" action={resendDeliveryPath(d.id)}>
                <input type="hidden" name="back" value={props.back} />
                <button type="submit">Resend</button>
              </form>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
