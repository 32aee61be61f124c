/**
 * Every call to the outside world has its own deadline (PROVIDER_TIMEOUT_MS). A provider that
 * hangs then fails the call like a network error would: the job retries with backoff, and the
 * provider's idempotency key makes the retry safe whatever became of the call that hung. The step
 * runner (step.ts) hands a step's call only providers wrapped here.
 */
import { withDeadline } from '../lib/deadline.ts';
import { TransientGatewayError, type Carrier, type Notifier, type PaymentGateway } from '../domain/ports.ts';

export class ProviderTimeoutError extends TransientGatewayError {
  override readonly name = 'ProviderTimeoutError';
}

/** `call`'s answer, or a ProviderTimeoutError once `ms` have passed without one. */
function withTimeout<T>(what: string, ms: number, call: () => Promise<T>): Promise<T> {
  return withDeadline(call(), ms, () => new ProviderTimeoutError(`${what} did not answer within ${ms} ms`));
}

export function timedGateway(gateway: PaymentGateway, ms: number): PaymentGateway {
  return {
    charge: (request) => withTimeout('payment gateway (charge)', ms, () => gateway.charge(request)),
    void: (request) => withTimeout('payment gateway (void)', ms, () => gateway.void(request)),
    refund: (request) => withTimeout('payment gateway (refund)', ms, () => gateway.refund(request)),
  };
}

export function timedCarrier(carrier: Carrier, ms: number): Carrier {
  return {
    createShipment: (request) => withTimeout('carrier (create shipment)', ms, () => carrier.createShipment(request)),
    cancelShipment: (request) => withTimeout('carrier (cancel shipment)', ms, () => carrier.cancelShipment(request)),
  };
}

export function timedNotifier(notifier: Notifier, ms: number): Notifier {
  return { send: (message) => withTimeout('notifier', ms, () => notifier.send(message)) };
}
