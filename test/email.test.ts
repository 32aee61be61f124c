/**
 * The mailer on its own: templates, the Message-ID rule, and how each answer of a real SMTP server
 * (running in the test) is classed: sent, refused for good, or worth retrying.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NOTIFICATION_KINDS } from '../src/domain/events.ts';
import { NOTIFICATION_FOR_EVENT, owedNotifications } from '../src/domain/order-machine.ts';
import { ROUTES } from '../src/queues/routing.ts';
import type { MessageFacts } from '../src/domain/ports.ts';
import { SmtpMailer, TransientMailError, messageIdFor, refusalOf } from '../src/email/smtp-mailer.ts';
import { escapeHtml, money, renderMessage } from '../src/email/templates.ts';
import { createLogger } from '../src/logger.ts';
import { TestSmtpServer } from './support/smtp-server.ts';

const FACTS: MessageFacts = {
  orderId: 'ord_01JD5ZQ0N6W8J7Y3K2V1B0C9XA',
  customerName: 'Ada <b>Lovelace</b> & "Co"',
  items: [{ sku: 'SKU-1', quantity: 2, unitPriceCents: 1_250 }],
  totalCents: 2_500,
  currency: 'USD',
  trackingNumber: 'TRK<script>',
  reason: null,
};

describe('the order confirmation', () => {
  it('is told by InventoryReserved, which the notification service hears', () => {
    expect(NOTIFICATION_FOR_EVENT.InventoryReserved).toBe('order_confirmed');
    expect(ROUTES.InventoryReserved).toEqual(expect.arrayContaining(['shipping', 'notification']));
  });

  it('is owed by every order whose stock was ever reserved, and by no other', () => {
    const owed = (status: string, stockStatus: string, paymentStatus = 'CAPTURED', reason: string | null = null) =>
      owedNotifications({ status, stockStatus, paymentStatus, reason } as Parameters<typeof owedNotifications>[0]);
    expect(owed('PAID', 'NONE')).toEqual([]);
    expect(owed('AWAITING_SHIPMENT', 'RESERVED')).toEqual(['order_confirmed']);
    expect(owed('SHIPPED', 'SHIPPED')).toEqual(['order_confirmed', 'shipped']);
    expect(owed('COMPLETED', 'SHIPPED')).toEqual(['order_confirmed', 'shipped', 'delivered']);
    // A refund's message is owed per refund (SUBJECT_NOTIFICATION_KINDS), not by the order's status.
    expect(owed('CANCELLED', 'RELEASED', 'REFUNDED', 'CUSTOMER_CANCELLED')).toEqual(['order_confirmed', 'cancelled']);
    expect(owed('FAILED', 'NONE', 'REFUNDED', 'OUT_OF_STOCK')).toEqual(['out_of_stock']);
  });
});

describe('message templates', () => {
  it.each(NOTIFICATION_KINDS)('%s has a subject naming the order, a text part and an HTML part', (kind) => {
    const message = renderMessage(kind, FACTS);
    expect(message.subject).toContain(FACTS.orderId);
    expect(message.text).toContain(FACTS.orderId);
    expect(message.html).toContain(FACTS.orderId);
    expect(message.text).toContain('Hello Ada <b>Lovelace</b> & "Co",');
  });

  it('escapes every value it puts into HTML', () => {
    const { html, text } = renderMessage('shipped', FACTS);
    expect(html).toContain('Ada &lt;b&gt;Lovelace&lt;/b&gt; &amp; &quot;Co&quot;');
    expect(html).toContain('TRK&lt;script&gt;');
    expect(html).not.toMatch(/<script>|<b>/);
    expect(text).toContain('Tracking number: TRK<script>');
    expect(escapeHtml(`<a href='x'>&</a>`)).toBe('&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('lists the lines and the total of a confirmation in cents made readable', () => {
    const { text, html } = renderMessage('order_confirmed', FACTS);
    expect(text).toContain('2 x SKU-1  25.00 USD');
    expect(text).toContain('Total  25.00 USD');
    expect(html).toContain('<th>25.00 USD</th>');
    expect(money(5, 'EUR')).toBe('0.05 EUR');
  });
});

describe('the Message-ID rule', () => {
  it('names one Message-ID per (order, kind) at the domain of MAIL_FROM', () => {
    expect(messageIdFor('ord_1', 'shipped', 'shop.example')).toBe('<ord_1.shipped@shop.example>');
    expect(messageIdFor('ord_1', 'shipped', 'shop.example')).not.toBe(messageIdFor('ord_1', 'delivered', 'shop.example'));
  });
});

describe('classing an SMTP failure', () => {
  it('takes a 5xx reply to the recipient or the message as a refusal, and nothing else', () => {
    expect(refusalOf({ responseCode: 550, command: 'RCPT TO', response: '550 5.1.1   no such\r\n mailbox' })).toEqual({
      code: 550,
      reason: '550 5.1.1 no such mailbox',
    });
    expect(refusalOf({ responseCode: 554, command: 'DATA', response: '554 spam' })?.code).toBe(554);
    expect(refusalOf({ responseCode: 451, command: 'RCPT TO', response: '451 try later' })).toBeUndefined();
    expect(refusalOf({ responseCode: 535, command: 'AUTH PLAIN', response: '535 bad login' })).toBeUndefined();
    expect(refusalOf({ responseCode: 553, command: 'MAIL FROM', response: '553 sender refused' })).toBeUndefined();
    expect(refusalOf({ code: 'ESOCKET', message: 'connect ECONNREFUSED' })).toBeUndefined();
  });
});

describe('the SMTP mailer against a real server', () => {
  let smtp: TestSmtpServer | undefined;
  afterEach(async () => {
    await smtp?.down();
    smtp = undefined;
  });

  const mailer = (url: string) =>
    new SmtpMailer(
      { smtpUrl: url, from: 'Shop <orders@shop.example>', fromAddress: 'orders@shop.example' },
      createLogger('silent'),
    );

  it('delivers a message with its Message-ID, subject, text and HTML, after logging in', async () => {
    smtp = await TestSmtpServer.start();
    const outcome = await mailer(smtp.url).send({ to: 'ada@example.com', kind: 'order_confirmed', facts: FACTS });
    expect(outcome).toEqual({ outcome: 'sent', messageId: `<${FACTS.orderId}.order_confirmed@shop.example>` });
    expect(smtp.received).toHaveLength(1);
    const [mail] = smtp.received;
    expect(mail!.to).toEqual(['ada@example.com']);
    expect(mail!.parsed.messageId).toBe(`<${FACTS.orderId}.order_confirmed@shop.example>`);
    expect(mail!.parsed.subject).toBe(`Order ${FACTS.orderId} confirmed`);
    expect(mail!.parsed.from?.value).toEqual([{ address: 'orders@shop.example', name: 'Shop' }]);
    expect(mail!.parsed.text).toContain('25.00 USD');
    expect(mail!.parsed.html).toContain('Ada &lt;b&gt;Lovelace');
  });

  it('speaks smtps (TLS from the start) as well', async () => {
    smtp = await TestSmtpServer.start({ secure: true });
    expect(smtp.url).toMatch(/^smtps:/);
    const outcome = await mailer(smtp.url).send({ to: 'ada@example.com', kind: 'delivered', facts: FACTS });
    expect(outcome.outcome).toBe('sent');
    expect(smtp.received.map((m) => m.parsed.subject)).toEqual([`Order ${FACTS.orderId} was delivered`]);
  });

  it('answers a 550 for the recipient as a refusal with its code and reason', async () => {
    smtp = await TestSmtpServer.start({ refuse: () => ({ code: 550, message: 'No such mailbox here' }) });
    const outcome = await mailer(smtp.url).send({ to: 'gone@example.com', kind: 'shipped', facts: FACTS });
    expect(outcome).toMatchObject({ outcome: 'refused', code: 550 });
    expect(outcome.outcome === 'refused' && outcome.reason).toContain('No such mailbox here');
    expect(smtp.received).toHaveLength(0);
  });

  it('throws a transient error for a 4xx reply, a server that is down, and a refused login', async () => {
    smtp = await TestSmtpServer.start({ refuse: () => ({ code: 451, message: 'Greylisted, try later' }) });
    await expect(mailer(smtp.url).send({ to: 'ada@example.com', kind: 'shipped', facts: FACTS })).rejects.toBeInstanceOf(
      TransientMailError,
    );
    const wrongLogin = smtp.url.replace(/:[^:@]+@/, ':wrong-password@');
    await expect(mailer(wrongLogin).send({ to: 'ada@example.com', kind: 'shipped', facts: FACTS })).rejects.toBeInstanceOf(
      TransientMailError,
    );
    expect(smtp.failedLogins).toBe(1);
    await smtp.down();
    await expect(mailer(smtp.url).send({ to: 'ada@example.com', kind: 'shipped', facts: FACTS })).rejects.toBeInstanceOf(
      TransientMailError,
    );
    expect(smtp.received).toHaveLength(0);
  });
});
