/**
 * What each kind of customer message says: one template per kind, a subject naming the order and
 * a few paragraphs, rendered both as plain text and as HTML. Every value put into HTML is escaped.
 * Pure: no I/O.
 */
import type { NotificationKind } from '../domain/events.ts';
import type { MessageFacts } from '../domain/ports.ts';

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
}

interface Template {
  subject: (f: MessageFacts) => string;
  /** Paragraphs, in plain text; the HTML part escapes each. */
  body: (f: MessageFacts) => string[];
  /** Whether the message lists the order's lines and total. */
  withItems: boolean;
}

const TEMPLATES: Readonly<Record<NotificationKind, Template>> = {
  order_confirmed: {
    subject: (f) => `Order ${f.orderId} confirmed`,
    body: () => [
      'Thank you: your payment went through and your items are set aside for you.',
      'We will write again when the parcel leaves.',
    ],
    withItems: true,
  },
  payment_declined: {
    subject: (f) => `Order ${f.orderId}: payment declined`,
    body: () => ['Your payment was declined, so the order was not placed. Nothing was charged.'],
    withItems: false,
  },
  payment_timed_out: {
    subject: (f) => `Order ${f.orderId}: payment not confirmed in time`,
    body: () => [
      'Your bank did not confirm the payment in time, so the order was not placed.',
      'If the charge goes through after all, it will be refunded in full.',
    ],
    withItems: false,
  },
  out_of_stock: {
    subject: (f) => `Order ${f.orderId}: out of stock`,
    body: () => [
      'We are sorry: an item of your order ran out of stock before we could set it aside. Your payment will be refunded in full.',
    ],
    withItems: true,
  },
  shipped: {
    subject: (f) => `Order ${f.orderId} has shipped`,
    body: (f) => ['Your parcel is on its way.', ...(f.trackingNumber ? [`Tracking number: ${f.trackingNumber}`] : [])],
    withItems: true,
  },
  delivered: {
    subject: (f) => `Order ${f.orderId} was delivered`,
    body: () => ['The carrier reports your parcel as delivered. Enjoy!'],
    withItems: false,
  },
  cancelled: {
    subject: (f) => `Order ${f.orderId} cancelled`,
    body: () => ['Your order was cancelled as you asked. Anything charged will be refunded in full.'],
    withItems: false,
  },
  refunded: {
    subject: (f) => `Order ${f.orderId}: refund issued`,
    body: (f) => [`We refunded ${money(f.subject?.amountCents ?? f.totalCents, f.currency)} to your payment method.`],
    withItems: false,
  },
  return_requested: {
    subject: (f) => `Order ${f.orderId}: return ${f.subject?.id ?? ''} opened`,
    body: (f) => [
      `We have opened your return of ${units(f)}.`,
      'Please send the items back; we will refund them once they arrive.',
    ],
    withItems: false,
  },
  return_received: {
    subject: (f) => `Order ${f.orderId}: return ${f.subject?.id ?? ''} received`,
    body: (f) => [`Your return of ${units(f)} arrived.`, 'Its refund is on its way to your payment method.'],
    withItems: false,
  },
  return_rejected: {
    subject: (f) => `Order ${f.orderId}: return ${f.subject?.id ?? ''} not accepted`,
    body: (f) => [`We could not accept your return of ${units(f)}.`, 'Please reply to this message if you have a question.'],
    withItems: false,
  },
  return_cancelled: {
    subject: (f) => `Order ${f.orderId}: return ${f.subject?.id ?? ''} cancelled`,
    body: (f) => [`Your return of ${units(f)} was cancelled as you asked.`],
    withItems: false,
  },
};

/** A return's units, as a message names them: `2 x SKU-1, 1 x SKU-2`. */
function units(f: MessageFacts): string {
  return (f.subject?.items ?? []).map((i) => `${i.quantity} x ${i.sku}`).join(', ') || 'your items';
}

export function renderMessage(kind: NotificationKind, facts: MessageFacts): RenderedMessage {
  const template = TEMPLATES[kind];
  const greeting = `Hello ${facts.customerName},`;
  const paragraphs = template.body(facts);
  const lines = template.withItems
    ? facts.items.map((i) => ({ ...i, amount: money(i.unitPriceCents * i.quantity, facts.currency) }))
    : [];
  const total = money(facts.totalCents, facts.currency);
  const footer = `Order reference: ${facts.orderId}`;

  const text = [
    greeting,
    ...paragraphs,
    ...(template.withItems
      ? [[...lines.map((l) => `  ${l.quantity} x ${l.sku}  ${l.amount}`), `  Total  ${total}`].join('\n')]
      : []),
    footer,
  ].join('\n\n');

  const html = [
    '<!doctype html><html><body>',
    `<p>${escapeHtml(greeting)}</p>`,
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    ...(template.withItems
      ? [
          '<table>',
          ...lines.map(
            (l) =>
              `<tr><td>${escapeHtml(String(l.quantity))} &times; ${escapeHtml(l.sku)}</td><td>${escapeHtml(l.amount)}</td></tr>`,
          ),
          `<tr><th>Total</th><th>${escapeHtml(total)}</th></tr>`,
          '</table>',
        ]
      : []),
    `<p><small>${escapeHtml(footer)}</small></p>`,
    '</body></html>',
  ].join('\n');

  return { subject: template.subject(facts), text: `${text}\n`, html: `${html}\n` };
}

/** Integer cents as a decimal amount with its currency, e.g. `25.00 USD`. */
export function money(cents: number, currency: string): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')} ${currency}`;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}
