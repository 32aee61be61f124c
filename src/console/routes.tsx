/**
 * The operations console: server-rendered pages under /admin (home) and /admin/console, and
 * its two actions as plain form POSTs that redirect back to the order's page. Behind the admin
 * token like the rest of /admin (server.ts); reading needs no script.
 */
import { Hono, type Context } from 'hono';
import type { Child } from 'hono/jsx';
import { cancelOrder } from '../db/cancel.ts';
import { recordOperatorAction, recordOperatorActions } from '../db/operator-actions.ts';
import { findOrder } from '../db/orders.ts';
import { listOrders, orderIdByTrackingNumber } from '../db/order-list.ts';
import { ConflictError } from '../domain/errors.ts';
import { fieldIssues } from '../domain/field-issues.ts';
import { isReachedBy } from '../domain/order-machine.ts';
import { ORDER_ID_PATTERN, OrderListQuerySchema, orderListQuery } from '../order-filter.ts';
import { ask, queueOfJobId } from '../queues/inspect.ts';
import { retryFailedJob, type RetryOutcome } from '../queues/job-actions.ts';
import { CONSOLE_CSS, CONSOLE_JS, FAVICON_SVG } from './assets.ts';
import { consoleCounts, homeData, orderData, type ConsoleDeps } from './data.ts';
import { moneyBackConsoleRoutes } from './money-back-routes.tsx';
import { HomePage, isHomeOutcome } from './home.tsx';
import { orderHref } from './layout.tsx';
import { ListPage, MessagePage } from './list-page.tsx';
import { OrderPage, isActionOutcome, type ActionOutcome } from './order-page.tsx';
import { CONSOLE_HOME, CONSOLE_PATH, PUBLIC_STYLESHEET } from './paths.ts';

/**
 * Pages load nothing from elsewhere: the stylesheet and the script come from the console itself,
 * and forms post only to it.
 */
const PAGE_POLICY =
  "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function page(c: Context, node: Child, status: 200 | 400 | 404 = 200): Response {
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

/** Who the console's actions are recorded as: whoever holds the admin token. */
const ADMIN_ACTOR = 'admin';

const RETRY_OUTCOMES = { retried: 'retried', 'not-failed': 'retry-not-failed', absent: 'retry-absent' } as const satisfies Record<
  RetryOutcome,
  ActionOutcome
>;

/** A job id made by `jobIdFor`: `<order id>-<event>-<queue>`, or `<order id>-<event>-<outbox id>-<queue>`. */
const ORDER_OF_JOB = /^(ord_[0-9A-Z]{26})-[A-Za-z]+(?:-\d+)?-[a-z-]+$/;

/** The sandbox carrier's tracking numbers (sandbox/carrier.ts). */
const TRACKING_NUMBER = /^TRK\d{6,20}$/i;
const EMAIL_SEARCH_LIMIT = 100;

/** A bulk retry asks Redis once per job: it may take longer than one page's read. */
const BULK_RETRY_DEADLINE_MS = 10_000;

/** Mounted at the root: the paths are whole (paths.ts). */
export function consoleRoutes(deps: ConsoleDeps): Hono {
  const app = new Hono();
  const sub = CONSOLE_PATH;

  app.get(CONSOLE_HOME, async (c) => {
    const done = c.req.query('done');
    const flash = isHomeOutcome(done)
      ? { outcome: done, n: Number(c.req.query('n')) || 0, of: Number(c.req.query('of')) || 0 }
      : undefined;
    return page(c, <HomePage data={await homeData(deps)} flash={flash} />);
  });
  app.get(`${CONSOLE_HOME}/`, (c) => c.redirect(CONSOLE_HOME, 308));

  app.get(`${sub}/counts`, async (c) => c.json(await consoleCounts(deps)));

  app.get(`${sub}/assets/console.css`, (c) =>
    c.body(CONSOLE_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'max-age=300' }),
  );
  // Outside /admin, for any page (the index at / too), without credentials: nothing secret in them.
  for (const path of ['/favicon.svg', '/favicon.ico']) {
    app.get(path, (c) => c.body(FAVICON_SVG, 200, { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'max-age=86400' }));
  }
  app.get(PUBLIC_STYLESHEET, (c) =>
    c.body(CONSOLE_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'max-age=300' }),
  );
  app.get(`${sub}/assets/console.js`, (c) =>
    c.body(CONSOLE_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'max-age=300' }),
  );

  // An order id or a tracking number opens its order's page; an email lists the orders that gave
  // it; anything else is taken for a customer id.
  app.get(`${sub}/search`, async (c) => {
    const q = (c.req.query('q') ?? '').trim();
    if (q === '') return c.redirect(CONSOLE_HOME, 303);
    if (ORDER_ID_PATTERN.test(q) && (await findOrder(deps.db, q))) return c.redirect(orderHref(q), 303);
    if (ORDER_ID_PATTERN.test(q)) return unknownOrder(c, q);
    if (TRACKING_NUMBER.test(q)) {
      const id = await orderIdByTrackingNumber(deps.db, q.toUpperCase());
      if (id) return c.redirect(orderHref(id), 303);
      return page(
        c,
        <MessagePage title="No such shipment">No order has the tracking number {JSON.stringify(q)}.</MessagePage>,
        404,
      );
    }
    if (q.includes('@')) {
      const found = await listOrders(deps.db, { email: q, limit: EMAIL_SEARCH_LIMIT });
      const notice = found.nextBefore ? `Only the newest ${EMAIL_SEARCH_LIMIT} are shown.` : undefined;
      return page(
        c,
        <ListPage
          filters={{ email: q }}
          orders={found.orders}
          nextCursor={null}
          paged={false}
          now={deps.now()}
          notice={notice}
        />,
      );
    }
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

  // The same rules as POST /orders/{id}/cancel: the same function decides. The form carries a
  // confirmation box the browser requires; a post without it changes nothing.
  app.post(`${sub}/orders/:id/cancel`, async (c) => {
    const id = c.req.param('id');
    const before = await findOrder(deps.db, id);
    if (!before) return unknownOrder(c, id);
    const form = await c.req.parseBody();
    if (form.confirm !== 'yes') return backToOrder(c, id, 'cancel-unconfirmed');
    let outcome: ActionOutcome = 'cancelled';
    if (isReachedBy(before.status, 'Cancelled')) outcome = 'already-cancelled';
    else {
      try {
        await cancelOrder(deps.db, id, deps.now());
        deps.onCommit();
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        outcome = 'cancel-refused';
      }
    }
    await recordOperatorAction(deps.db, { orderId: id, action: 'cancel', actor: ADMIN_ACTOR, outcome, at: deps.now() });
    return backToOrder(c, id, outcome);
  });

  app.route('/', moneyBackConsoleRoutes(deps));

  app.post(`${sub}/orders/:id/retry`, async (c) => {
    const id = c.req.param('id');
    if (!(await findOrder(deps.db, id))) return unknownOrder(c, id);
    const form = await c.req.parseBody();
    const job = typeof form.job === 'string' ? form.job : '';
    // Only this order's jobs: their ids are `<order id>-<event>-<queue>` (queues/routing.ts).
    const queue = job.startsWith(`${id}-`) ? queueOfJobId(job) : undefined;
    if (!queue || !deps.queues) return backToOrder(c, id, 'retry-unknown');
    const queues = deps.queues;
    const answer = await ask(() => retryFailedJob(queues, queue, job));
    if (!answer.ok) return backToOrder(c, id, 'redis-unavailable', job);
    const outcome = RETRY_OUTCOMES[answer.value];
    await recordOperatorAction(deps.db, {
      orderId: id,
      action: 'retry',
      actor: ADMIN_ACTOR,
      jobId: job,
      outcome,
      at: deps.now(),
    });
    return backToOrder(c, id, outcome, job);
  });

  // The failed jobs the home page shows, retried at once; each goes on its order's timeline.
  app.post(`${sub}/failed/retry`, async (c) => {
    const form = await c.req.parseBody({ all: true });
    const jobs = ([] as unknown[]).concat(form.job ?? []).filter((j): j is string => typeof j === 'string');
    const wanted = jobs.flatMap((job) => {
      const queue = queueOfJobId(job);
      const orderId = ORDER_OF_JOB.exec(job)?.[1];
      return queue && orderId ? [{ job, queue, orderId }] : [];
    });
    if (!deps.queues || wanted.length === 0) return c.redirect(`${CONSOLE_HOME}?done=retried-none`, 303);
    const queues = deps.queues;
    const answer = await ask(
      () => Promise.all(wanted.map((w) => retryFailedJob(queues, w.queue, w.job))),
      BULK_RETRY_DEADLINE_MS,
    );
    if (!answer.ok) return c.redirect(`${CONSOLE_HOME}?done=redis-unavailable`, 303);
    const at = deps.now();
    await recordOperatorActions(
      deps.db,
      wanted.map((w, i) => ({
        orderId: w.orderId,
        action: 'retry' as const,
        actor: ADMIN_ACTOR,
        jobId: w.job,
        outcome: RETRY_OUTCOMES[answer.value[i]!],
        at,
      })),
    );
    const retried = answer.value.filter((o) => o === 'retried').length;
    return c.redirect(
      `${CONSOLE_HOME}?${new URLSearchParams({ done: 'retried-many', n: String(retried), of: String(wanted.length) })}`,
      303,
    );
  });

  return app;
}
