/**
 * The operations console: server-rendered pages under /admin (home) and /admin/console, and
 * its two actions as plain form POSTs that redirect back to the order's page. Behind the admin
 * token like the rest of /admin (server.ts); reading needs no script.
 */
import { Hono, type Context } from 'hono';
import type { Child } from 'hono/jsx';
import { ORDER_ID_PATTERN, OrderListQuerySchema, orderListQuery } from '../api/admin-orders.ts';
import { fieldIssues } from '../api/problem.ts';
import { cancelOrder } from '../db/cancel.ts';
import { findOrder } from '../db/orders.ts';
import { listOrders } from '../db/order-list.ts';
import { ConflictError } from '../domain/errors.ts';
import { isReachedBy } from '../domain/order-machine.ts';
import { ask, queueOfJobId, retryFailedJob } from '../queues/inspect.ts';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.ts';
import { consoleCounts, homeData, orderData, type ConsoleDeps } from './data.ts';
import { HomePage } from './home.tsx';
import { orderHref } from './layout.tsx';
import { ListPage, MessagePage } from './list-page.tsx';
import { OrderPage, isActionOutcome, type ActionOutcome } from './order-page.tsx';
import { CONSOLE_HOME, CONSOLE_PATH } from './paths.ts';

/**
 * Pages load nothing from elsewhere: the stylesheet and the script come from the console itself,
 * and forms post only to it.
 */
const PAGE_POLICY =
  "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function page(c: Context, node: Child, status: 200 | 400 | 404 = 200): Response {
  return c.html(`<!DOCTYPE html>${String(node)}`, status, {
    'Content-Security-Policy': PAGE_POLICY,
    'Cache-Control': 'no-store',
  });
}

function backToOrder(c: Context, orderId: string, outcome: ActionOutcome, job?: string): Response {
  const query = new URLSearchParams({ done: outcome, ...(job ? { job } : {}) });
  return c.redirect(`${orderHref(orderId)}?${query}`, 303);
}

function unknownOrder(c: Context, id: string): Response {
  return page(c, <MessagePage title="No such order">No order has the id {JSON.stringify(id)}.</MessagePage>, 404);
}

/** Mounted at the root: the paths are whole (paths.ts). */
export function consoleRoutes(deps: ConsoleDeps): Hono {
  const app = new Hono();
  const sub = CONSOLE_PATH;

  app.get(CONSOLE_HOME, async (c) => page(c, <HomePage data={await homeData(deps)} />));
  app.get(`${CONSOLE_HOME}/`, (c) => c.redirect(CONSOLE_HOME, 308));

  app.get(`${sub}/counts`, async (c) => c.json(await consoleCounts(deps)));

  app.get(`${sub}/assets/console.css`, (c) =>
    c.body(CONSOLE_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'max-age=300' }),
  );
  app.get(`${sub}/assets/console.js`, (c) =>
    c.body(CONSOLE_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'max-age=300' }),
  );

  // An order id opens its page; anything else is taken for a customer id.
  app.get(`${sub}/search`, async (c) => {
    const q = (c.req.query('q') ?? '').trim();
    if (q === '') return c.redirect(CONSOLE_HOME, 303);
    if (ORDER_ID_PATTERN.test(q) && (await findOrder(deps.db, q))) return c.redirect(orderHref(q), 303);
    if (ORDER_ID_PATTERN.test(q)) return unknownOrder(c, q);
    return c.redirect(`${CONSOLE_PATH}/orders?${new URLSearchParams({ customerId: q })}`, 303);
  });

  app.get(`${sub}/orders`, async (c) => {
    // An empty field of the filter form means "any".
    const raw = Object.fromEntries(Object.entries(c.req.query()).filter(([, v]) => v !== ''));
    const parsed = OrderListQuerySchema.safeParse(raw);
    if (!parsed.success) {
      const issues = fieldIssues(parsed.error);
      return page(
        c,
        <MessagePage title="Invalid filter">{issues.map((i) => `${i.field}: ${i.message}`).join('; ')}</MessagePage>,
        400,
      );
    }
    const query = parsed.data;
    const now = deps.now();
    const result = await listOrders(deps.db, orderListQuery(query, now, deps.stuckAfterMs));
    return page(
      c,
      <ListPage
        filters={{ status: query.status, customerId: query.customerId, stuck: query.stuck === 'true', limit: query.limit }}
        orders={result.orders}
        nextCursor={result.nextBefore}
        paged={query.cursor !== undefined}
        now={now}
      />,
    );
  });

  app.get(`${sub}/orders/:id`, async (c) => {
    const id = c.req.param('id');
    const data = await orderData(deps, id);
    if (!data) return unknownOrder(c, id);
    const done = c.req.query('done');
    const job = c.req.query('job');
    return page(
      c,
      <OrderPage
        data={data}
        outcome={isActionOutcome(done) ? done : undefined}
        job={job?.startsWith(`${id}-`) ? job : undefined}
      />,
    );
  });

  // The same rules as POST /orders/{id}/cancel: the same function decides.
  app.post(`${sub}/orders/:id/cancel`, async (c) => {
    const id = c.req.param('id');
    const before = await findOrder(deps.db, id);
    if (!before) return unknownOrder(c, id);
    if (isReachedBy(before.status, 'Cancelled')) return backToOrder(c, id, 'already-cancelled');
    try {
      await cancelOrder(deps.db, id, deps.now());
    } catch (err) {
      if (err instanceof ConflictError) return backToOrder(c, id, 'cancel-refused');
      throw err;
    }
    deps.onCommit();
    return backToOrder(c, id, 'cancelled');
  });

  app.post(`${sub}/orders/:id/retry`, async (c) => {
    const id = c.req.param('id');
    if (!findOrder(deps.db, id)) return unknownOrder(c, id);
    const form = await c.req.parseBody();
    const job = typeof form.job === 'string' ? form.job : '';
    // Only this order's jobs: their ids are `<order id>-<event>-<queue>` (queues/routing.ts).
    const queue = job.startsWith(`${id}-`) ? queueOfJobId(job) : undefined;
    if (!queue || !deps.queues) return backToOrder(c, id, 'retry-unknown');
    const queues = deps.queues;
    const answer = await ask(() => retryFailedJob(queues, queue, job));
    if (!answer.ok) return backToOrder(c, id, 'redis-unavailable', job);
    const outcome: Record<typeof answer.value, ActionOutcome> = {
      retried: 'retried',
      'not-failed': 'retry-not-failed',
      absent: 'retry-absent',
    };
    return backToOrder(c, id, outcome[answer.value], job);
  });

  return app;
}
