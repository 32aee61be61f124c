/**
 * The order page's refunds and returns: each with its state, and the operator's actions on them,
 * refund part of the order, receive a return's goods, reject a return. The forms post to
 * console/money-back-routes.tsx, which applies the same rules as the API.
 */
import type { OrderData } from './data.ts';
import { Badge, money, orderHref, time } from './layout.tsx';

const RETURN_TONES = { REQUESTED: 'warn', RECEIVED: 'info', REFUNDED: 'ok', REJECTED: 'bad', CANCELLED: 'idle' } as const;

export function MoneyBackSection(props: { data: OrderData }) {
  const { order, refunds, returns, refundableCents } = props.data;
  return (
    <>
      <h2>Refunds</h2>
      {refunds.length === 0 ? (
        <p class="empty">No refund.</p>
      ) : (
        <table class="refunds">
          <thead>
            <tr>
              <th>Refund</th>
              <th class="num">Amount</th>
              <th>State</th>
              <th>Reason</th>
              <th>By</th>
              <th>Asked</th>
              <th>Settled</th>
            </tr>
          </thead>
          <tbody>
            {refunds.map((r) => (
              <tr>
                <td class="mono">{r.id}</td>
                <td class="num">{money(r.amountCents, order.currency)}</td>
                <td>
                  <Badge tone={r.status === 'SUCCEEDED' ? 'ok' : 'warn'}>{r.status}</Badge>
                </td>
                <td>{r.reason}</td>
                <td class="mono">{r.actor}</td>
                <td>{time(r.createdAt)}</td>
                <td>{r.settledAt ? time(r.settledAt) : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {refundableCents > 0 ? (
        <form class="inline" method="post" action={`${orderHref(order.id)}/refund`}>
          <label>
            Amount in cents <input type="number" name="amountCents" min="1" max={String(refundableCents)} required />
          </label>{' '}
          <label>
            Reason <input type="text" name="reason" maxlength={500} required />
          </label>{' '}
          <button type="submit">Refund</button>{' '}
          <span class="muted">At most {money(refundableCents, order.currency)} is left to refund.</span>
        </form>
      ) : (
        <p class="muted">Nothing is left to refund.</p>
      )}

      <h2>Returns</h2>
      {returns.length === 0 ? (
        <p class="empty">No return.</p>
      ) : (
        <table class="returns">
          <thead>
            <tr>
              <th>Return</th>
              <th>Items</th>
              <th>State</th>
              <th>Reason</th>
              <th>Refund</th>
              <th>Opened</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {returns.map((r) => (
              <tr>
                <td class="mono">{r.id}</td>
                <td class="mono">{r.items.map((i) => `${i.quantity} × ${i.sku}`).join(', ')}</td>
                <td>
                  <Badge tone={RETURN_TONES[r.status]}>{r.status}</Badge>
                </td>
                <td>{r.reason}</td>
                <td>{r.refund ? `${money(r.refund.amountCents, order.currency)} ${r.refund.status}` : '—'}</td>
                <td>{time(r.createdAt)}</td>
                <td>
                  {r.status === 'REQUESTED' ? (
                    <>
                      <form class="inline" method="post" action={`${orderHref(order.id)}/returns/${r.id}/receive`}>
                        <button type="submit">Receive</button>
                      </form>{' '}
                      <form class="inline" method="post" action={`${orderHref(order.id)}/returns/${r.id}/reject`}>
                        <button class="danger" type="submit">
                          Reject
                        </button>
                      </form>
                    </>
                  ) : (
                    ''
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
