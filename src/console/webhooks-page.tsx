/**
 * The webhooks page: every endpoint, whether it is enabled or why it was disabled (by an
 * operator, a 410, failing for days), how its deliveries stand, and the actions an operator needs
 * when an integrator's system comes back: enable it, resend what was given up. Below, the most
 * recent deliveries of every endpoint.
 */
import type { DeliveryStatus, DeliveryView } from '../db/webhook-deliveries.ts';
import type { EndpointRow } from '../db/webhook-endpoints.ts';
import { Badge, Layout, Notice, time } from './layout.tsx';
import { DeliveriesTable, WEBHOOKS_PATH } from './webhook-parts.tsx';

export const WEBHOOK_OUTCOMES = {
  resent: { tone: 'ok', text: 'The delivery is pending again; it goes out shortly, with the same webhook-id.' },
  'resent-all': { tone: 'ok', text: 'Every delivery given up for the endpoint is pending again.' },
  'nothing-to-resend': { tone: 'ok', text: 'Nothing was given up for that endpoint.' },
  enabled: { tone: 'ok', text: 'The endpoint is enabled again. Resend what was given up meanwhile if the integrator needs it.' },
  'no-such-delivery': { tone: 'bad', text: 'There is no such delivery.' },
  'no-such-endpoint': { tone: 'bad', text: 'There is no such endpoint.' },
} as const;
export type WebhookOutcome = keyof typeof WEBHOOK_OUTCOMES;

export function isWebhookOutcome(value: string | undefined): value is WebhookOutcome {
  return value !== undefined && Object.hasOwn(WEBHOOK_OUTCOMES, value);
}

export interface WebhooksPageData {
  endpoints: EndpointRow[];
  counts: Map<string, Partial<Record<DeliveryStatus, number>>>;
  recent: DeliveryView[];
}

export function WebhooksPage(props: { data: WebhooksPageData; outcome?: WebhookOutcome | undefined }) {
  const { endpoints, counts, recent } = props.data;
  const outcome = props.outcome ? WEBHOOK_OUTCOMES[props.outcome] : undefined;
  const names = new Map(endpoints.map((e) => [e.id, e.description ?? e.url]));
  return (
    <Layout title="Webhooks">
      <h1>Webhook endpoints</h1>
      {outcome ? <Notice tone={outcome.tone}>{outcome.text}</Notice> : ''}
      {endpoints.length === 0 ? (
        <p class="empty">No endpoint is registered. Register one with POST /admin/webhook-endpoints.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Endpoint</th>
              <th>Events</th>
              <th>State</th>
              <th>Delivered</th>
              <th>Pending</th>
              <th>Given up</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {endpoints.map((e) => {
              const c = counts.get(e.id) ?? {};
              return (
                <tr>
                  <td>
                    <div class="mono">{e.url}</div>
                    <div class="muted mono">
                      {e.id}
                      {e.description ? ` · ${e.description}` : ''}
                    </div>
                  </td>
                  <td class="mono">{e.events.join(', ')}</td>
                  <td>
                    {e.enabled ? (
                      e.failingSince === null ? (
                        <Badge tone="ok">ENABLED</Badge>
                      ) : (
                        <>
                          <Badge tone="warn">FAILING</Badge> <span class="muted">since {time(e.failingSince)}</span>
                        </>
                      )
                    ) : (
                      <>
                        <Badge tone="bad">DISABLED</Badge> <span class="muted">{e.disabledReason ?? 'by an operator'}</span>
                      </>
                    )}
                  </td>
                  <td>{c.DELIVERED ?? 0}</td>
                  <td>{c.PENDING ?? 0}</td>
                  <td>{c.GIVEN_UP ?? 0}</td>
                  <td>
                    {e.enabled ? (
                      ''
                    ) : (
                      <form method="post" action={`${WEBHOOKS_PATH}/endpoints/${encodeURIComponent(e.id)}/enable`}>
                        <button type="submit">Enable</button>
                      </form>
                    )}
                    {(c.GIVEN_UP ?? 0) > 0 ? (
                      <form method="post" action={`${WEBHOOKS_PATH}/endpoints/${encodeURIComponent(e.id)}/resend-given-up`}>
                        <button type="submit">Resend given up</button>
                      </form>
                    ) : (
                      ''
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <h2>Recent deliveries</h2>
      {recent.length === 0 ? (
        <p class="empty">No delivery yet.</p>
      ) : (
        <DeliveriesTable deliveries={recent} endpoints={names} back={WEBHOOKS_PATH} showOrder />
      )}
    </Layout>
  );
}
