/**
 * The console's frame and the small pieces every page uses: status badges, an orders table,
 * times and money as an operator reads them. Server-rendered; JSX escapes every value.
 */
import type { Child } from 'hono/jsx';
import type { OrderWithItems } from '../db/orders.ts';
import type { OrderStatus } from '../domain/order-machine.ts';
import { CONSOLE_PATH } from './paths.ts';

export function Layout(props: { title: string; children?: Child; search?: string }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · Order service console</title>
        <link rel="stylesheet" href={`${CONSOLE_PATH}/assets/console.css`} />
        <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/admin">
            Order service console
          </a>
          <nav>
            <a href="/admin">Home</a>
            <a href={`${CONSOLE_PATH}/orders`}>Orders</a>
            <a href={`${CONSOLE_PATH}/orders?stuck=true`}>Stuck</a>
            <a href={`${CONSOLE_PATH}/webhooks`}>Webhooks</a>
            <a href="/admin/queues">Queues</a>
            <a href="/docs">API</a>
          </nav>
          {/* biome-ignore lint/a11y/useSemanticElements: the <search> element is too new for the browsers operators may use */}
          <form method="get" action={`${CONSOLE_PATH}/search`} role="search">
            <input
              type="search"
              name="q"
              value={props.search ?? ''}
              placeholder="Order id, customer id, email or tracking number"
              aria-label="Order id, customer id, email or tracking number"
              required
            />
            <button type="submit">Search</button>
          </form>
        </header>
        <main>{props.children}</main>
        <script src={`${CONSOLE_PATH}/assets/console.js`} defer></script>
      </body>
    </html>
  );
}

const STATUS_TONE: Record<OrderStatus, string> = {
  CREATED: 'b-idle',
  PAYMENT_PENDING: 'b-warn',
  PAID: 'b-info',
  AWAITING_SHIPMENT: 'b-info',
  SHIPPED: 'b-ok',
  COMPLETED: 'b-ok',
  FAILED: 'b-bad',
  CANCELLED: 'b-idle',
};

export function StatusBadge(props: { status: OrderStatus }) {
  return <span class={`badge ${STATUS_TONE[props.status]}`}>{props.status}</span>;
}

const JOB_TONE: Record<string, string> = {
  completed: 'b-ok',
  failed: 'b-bad',
  active: 'b-info',
  waiting: 'b-warn',
  'waiting-children': 'b-warn',
  prioritized: 'b-warn',
  delayed: 'b-warn',
  absent: 'b-idle',
};

export function JobStateBadge(props: { state: string }) {
  return <span class={`badge ${JOB_TONE[props.state] ?? 'b-idle'}`}>{props.state}</span>;
}

export function Badge(props: { tone: 'ok' | 'warn' | 'bad' | 'idle' | 'info'; children?: Child }) {
  return <span class={`badge b-${props.tone}`}>{props.children}</span>;
}

export function Notice(props: { tone: 'ok' | 'bad' | 'warn'; children?: Child }) {
  return (
    <div class={`notice ${props.tone}`} role="status">
      {props.children}
    </div>
  );
}

export function orderHref(id: string): string {
  return `${CONSOLE_PATH}/orders/${encodeURIComponent(id)}`;
}

export function time(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

/** "3 min ago", for how long an order has been still. */
export function ago(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** "1.5 s", "10 min": a span of time as configured. */
export function duration(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 100) / 10} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 6_000) / 10} min`;
  return `${Math.round(ms / 360_000) / 10} h`;
}

export function money(cents: number, currency: string): string {
  return `${(cents / 100).toFixed(2)} ${currency}`;
}

export function OrdersTable(props: { orders: OrderWithItems[]; now: number; empty: string }) {
  if (props.orders.length === 0) return <p class="empty">{props.empty}</p>;
  return (
    <table>
      <thead>
        <tr>
          <th>Order</th>
          <th>Status</th>
          <th>Payment</th>
          <th>Customer</th>
          <th class="num">Total</th>
          <th>Placed</th>
          <th>Last moved</th>
        </tr>
      </thead>
      <tbody>
        {props.orders.map((o) => (
          <tr>
            <td>
              <a class="mono" href={orderHref(o.id)}>
                {o.id}
              </a>
            </td>
            <td>
              <StatusBadge status={o.status} />
              {o.reason ? <span class="muted"> {o.reason}</span> : ''}
            </td>
            <td>{o.paymentStatus}</td>
            <td>
              <a href={`${CONSOLE_PATH}/orders?customerId=${encodeURIComponent(o.customerId)}`}>{o.customerId}</a>
            </td>
            <td class="num">{money(o.totalCents, o.currency)}</td>
            <td>{time(o.createdAt)}</td>
            <td title={time(o.updatedAt)}>{ago(o.updatedAt, props.now)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
