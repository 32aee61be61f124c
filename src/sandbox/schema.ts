/**
 * The sandbox's ledgers as the sandbox code names them, bound to the definitions of the engine
 * the process opened (src/db/engine-binding.ts; the definitions are in ./tables/, with the same
 * row types in both engines).
 */
import { onEngine } from '../db/engine-binding.ts';
import * as postgres from './tables/postgres.ts';
import * as sqlite from './tables/sqlite.ts';

type Ledgers = Pick<
  typeof postgres,
  'sandboxPaymentIntents' | 'sandboxCharges' | 'sandboxRefunds' | 'sandboxShipments' | 'sandboxNotifications'
>;

export let sandboxPaymentIntents: Ledgers['sandboxPaymentIntents'] = postgres.sandboxPaymentIntents;
export let sandboxCharges: Ledgers['sandboxCharges'] = postgres.sandboxCharges;
export let sandboxRefunds: Ledgers['sandboxRefunds'] = postgres.sandboxRefunds;
export let sandboxShipments: Ledgers['sandboxShipments'] = postgres.sandboxShipments;
export let sandboxNotifications: Ledgers['sandboxNotifications'] = postgres.sandboxNotifications;

onEngine((engine) => {
  // The SQLite definitions have the PostgreSQL ones' row types; only drizzle's dialect tag differs.
  const chosen = (engine === 'sqlite' ? sqlite : postgres) as unknown as Ledgers;
  ({ sandboxPaymentIntents, sandboxCharges, sandboxRefunds, sandboxShipments, sandboxNotifications } = chosen);
});
