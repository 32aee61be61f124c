/**
 * The outside world, traced: each call to the payment gateway, the carrier or the notifier is a
 * CLIENT span, child of the job that makes it. Wraps the ports (domain/ports.ts), so a real
 * provider is traced the same way as the sandbox; used only where traces are exported, by the step
 * runner (processors/step.ts), which hands a step's call the providers traced here.
 */
import type { Attributes, Span } from '@opentelemetry/api';
import type { Carrier, ChargeOutcome, Notifier, PaymentGateway } from '../domain/ports.ts';
import { SpanKind, inSpan } from './tracing.ts';

export interface Providers {
  gateway: PaymentGateway;
  carrier: Carrier;
  notifier: Notifier;
}

function call<T>(peer: string, operation: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return inSpan(`${peer} ${operation}`, { kind: SpanKind.CLIENT, attributes: { 'peer.service': peer, ...attributes } }, fn);
}

/** What the gateway answered, on the span: captured, declined (with its code) or voided. */
async function answered(span: Span, answer: Promise<ChargeOutcome>): Promise<ChargeOutcome> {
  const outcome = await answer;
  span.setAttribute('payment.outcome', outcome.outcome);
  if (outcome.outcome === 'declined') span.setAttribute('payment.decline_code', outcome.code);
  return outcome;
}

export function traceProviders({ gateway, carrier, notifier }: Providers): Providers {
  return {
    gateway: {
      charge: (request) =>
        call('payment-gateway', 'charge', { 'order.id': request.orderId, 'payment.amount_cents': request.amountCents }, (span) =>
          answered(span, gateway.charge(request)),
        ),
      void: (request) =>
        call('payment-gateway', 'void', { 'order.id': request.orderId }, (span) => answered(span, gateway.void(request))),
      refund: (request) =>
        call('payment-gateway', 'refund', { 'order.id': request.orderId, 'payment.amount_cents': request.amountCents }, () =>
          gateway.refund(request),
        ),
    },
    carrier: {
      createShipment: (request) =>
        call('carrier', 'createShipment', { 'order.id': request.orderId }, () => carrier.createShipment(request)),
      cancelShipment: (request) =>
        call('carrier', 'cancelShipment', { 'order.id': request.orderId }, () => carrier.cancelShipment(request)),
    },
    notifier: {
      send: (message) =>
        call('notifier', 'send', { 'order.id': message.orderId, 'notification.kind': message.kind }, () =>
          notifier.send(message),
        ),
    },
  };
}
