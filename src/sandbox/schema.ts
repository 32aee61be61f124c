/**
 * The sandbox's ledgers as the sandbox code names them, bound to the definitions of the engine
 * the process opened (src/db/engine-binding.ts; the definitions are in ./tables/, with the same
 * row types in both engines).
 */
import { onEngine, unbound } from '../db/engine-binding.ts';
import * as postgres from './tables/postgres.ts';
import * as sqlite from './tables/sqlite.ts';

type Ledgers = Pick<
  typeof postgres,
  'sandboxPaymentIntents' | 'sandboxCharges' | 'sandboxRefunds' | 'sandboxShipments' | 'sandboxNotifications'
>;

export let sandboxPaymentIntents: Ledgers['sandboxPaymentIntents'] = unbound('sandboxPaymentIntents');
export let sandboxCharges: Ledgers['sandboxCharges'] = unbound('sandboxCharges');
export let sandboxRefunds: Ledgers['sandboxRefunds'] = unbound('sandboxRefunds');
export let sandboxShipments: Ledgers['sandboxShipments'] = unbound('sandboxShipments');
export let sandboxNotifications: Ledgers['sandboxNotifications'] = unbound('sandboxNotifications');

onEngine((engine) => {
  // The SQLite definitions have the PostgreSQL ones' row types; only drizzle's dialect tag differs.
  const chosen = (engine === 'sqlite' ? sqlite : postgres) as unknown as Ledgers;
  ({ sandboxPaymentIntents, sandboxCharges, sandboxRefunds, sandboxShipments, sandboxNotifications } = chosen);
});
