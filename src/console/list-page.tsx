/**
 * A page of orders, filtered as GET /admin/orders filters them, with a link to the next page;
 * also the answer to a search by customer id. And the console's page for a refusal.
 */
import type { Child } from 'hono/jsx';
import type { OrderWithItems } from '../db/orders.ts';
import { ORDER_STATUSES, type OrderStatus } from '../domain/order-machine.ts';
import { Layout, Notice, OrdersTable } from './layout.tsx';
import { CONSOLE_PATH } from './paths.ts';

export interface ListFilters {
  status?: OrderStatus | undefined;
  customerId?: string | undefined;
  /** A search by email: shown in the title only (the filter form has no such field). */
  email?: string | undefined;
  stuck?: boolean | undefined;
  limit?: number | undefined;
}

function listHref(filters: ListFilters, cursor?: string): string {
  const params = new URLSearchParams();
  if (filters.status) params.set('status', filters.status);
  if (filters.customerId !== undefined) params.set('customerId', filters.customerId);
  if (filters.stuck) params.set('stuck', 'true');
  if (filters.limit !== undefined) params.set('limit', String(filters.limit));
  if (cursor) params.set('cursor', cursor);
  const query = params.toString();
  return `${CONSOLE_PATH}/orders${query ? `?${query}` : ''}`;
}

function describe(filters: ListFilters): string {
  const parts = [
    filters.stuck ? 'stuck' : '',
    filters.status ? `in ${filters.status}` : '',
    filters.customerId !== undefined ? `of customer ${filters.customerId}` : '',
    filters.email !== undefined ? `with email ${filters.email}` : '',
  ].filter(Boolean);
  return parts.length > 0 ? `Orders ${parts.join(', ')}` : 'All orders';
}

export function ListPage(props: {
  filters: ListFilters;
  orders: OrderWithItems[];
  nextCursor: string | null;
  paged: boolean;
  now: number;
  notice?: string | undefined;
}) {
  const { filters } = props;
  return (
    <Layout title={describe(filters)} search={filters.customerId ?? filters.email}>
      <h1>
        {describe(filters)} <small>newest first</small>
      </h1>
      {props.notice ? <Notice tone="warn">{props.notice}</Notice> : ''}
      <form method="get" action={`${CONSOLE_PATH}/orders`} class="pager">
        <label>
          Status{' '}
          <select name="status">
            <option value="">any</option>
            {ORDER_STATUSES.map((s) => (
              <option value={s} selected={filters.status === s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Customer <input type="text" name="customerId" value={filters.customerId ?? ''} />
        </label>
        <label>
          <input type="checkbox" name="stuck" value="true" checked={filters.stuck === true} /> stuck only
        </label>
        <button type="submit">Filter</button>
      </form>
      <OrdersTable orders={props.orders} now={props.now} empty="No order matches." />
      <p class="pager">
        {props.paged ? <a href={listHref(filters)}>← Newest</a> : ''}
        {props.nextCursor ? <a href={listHref(filters, props.nextCursor)}>Older orders →</a> : ''}
      </p>
    </Layout>
  );
}

export function MessagePage(props: { title: string; children?: Child }) {
  return (
    <Layout title={props.title}>
      <h1>{props.title}</h1>
      <Notice tone="bad">{props.children}</Notice>
      <p>
        <a href="/admin">Back to the console</a>
      </p>
    </Layout>
  );
}
