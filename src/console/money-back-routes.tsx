/**
 * The console's refund and return actions, as plain form POSTs that redirect back to the order's
 * page with an outcome code: the same functions as the API decide, and each is recorded on the
 * order's timeline as an operator action by the admin.
 */
import { Hono, type Context } from 'hono';
import { recordOperatorAction, type OperatorAction } from '../db/operator-actions.ts';
import { findOrder } from '../db/orders.ts';
import { requestRefund } from '../db/refunds.ts';
import { receiveReturn } from '../db/return-receipt.ts';
import { endReturn, findReturn } from '../db/returns.ts';
import { DomainError } from '../domain/errors.ts';
import { MAX_REASON_LENGTH } from '../domain/refunds.ts';
import { unsafeCharacter } from '../domain/text.ts';
import type { ConsoleDeps } from './data.ts';
import { orderHref } from './layout.tsx';
import type { ActionOutcome } from './order-page.tsx';
import { CONSOLE_PATH } from './paths.ts';

const ADMIN_ACTOR = 'admin';

function back(c: Context, orderId: string, outcome: ActionOutcome): Response {
  return c.redirect(`${orderHref(orderId)}?${new URLSearchParams({ done: outcome })}`, 303);
}

export function moneyBackConsoleRoutes(deps: ConsoleDeps): Hono {
  const app = new Hono();
  const sub = CONSOLE_PATH;

  async function record(orderId: string, action: OperatorAction, outcome: ActionOutcome) {
    await recordOperatorAction(deps.db, { orderId, action, actor: ADMIN_ACTOR, outcome, at: deps.now() });
  }

  app.post(`${sub}/orders/:id/refund`, async (c) => {
    const id = c.req.param('id');
    if (!(await findOrder(deps.db, id))) return c.notFound();
    const form = await c.req.parseBody();
    // The form's two fields, held to the API's rules (api/money-back-schemas.ts RefundBody).
    const amountCents = Number(form.amountCents);
    const reason = typeof form.reason === 'string' ? form.reason.trim() : '';
    const valid = reason !== '' && reason.length <= MAX_REASON_LENGTH && unsafeCharacter(reason) === undefined;
    if (!Number.isSafeInteger(amountCents) || amountCents < 1 || !valid) {
      return back(c, id, 'refund-invalid');
    }
    let outcome: ActionOutcome = 'refund-requested';
    try {
      await requestRefund(deps.db, id, { amountCents, reason, actor: ADMIN_ACTOR }, deps.now());
      deps.onCommit();
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      outcome = 'refund-refused';
    }
    await record(id, 'refund', outcome);
    return back(c, id, outcome);
  });

  app.post(`${sub}/orders/:id/returns/:returnId/:step{receive|reject}`, async (c) => {
    const { id, returnId, step } = c.req.param();
    const ret = await findReturn(deps.db, returnId);
    if (!ret || ret.orderId !== id) return c.notFound();
    let outcome: ActionOutcome;
    try {
      if (step === 'receive') {
        const done = await receiveReturn(deps.db, returnId, ADMIN_ACTOR, deps.now());
        outcome = done.outcome === 'done' ? 'return-received' : 'return-already-received';
      } else {
        const done = await endReturn(deps.db, returnId, 'ReturnRejected', { actor: ADMIN_ACTOR }, deps.now());
        outcome = done.outcome === 'done' ? 'return-rejected' : 'return-already-rejected';
      }
      deps.onCommit();
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      outcome = 'return-step-refused';
    }
    await record(id, step === 'receive' ? 'receive-return' : 'reject-return', outcome);
    return back(c, id, outcome);
  });

  return app;
}
