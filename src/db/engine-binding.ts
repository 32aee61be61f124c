/**
 * Which engine's tables the process's queries name. Each schema module (src/db/schema.ts,
 * src/sandbox/schema.ts) exports its tables as bindings that `useEngine` points at the engine's
 * definitions when the database opens; a process opens one engine (a tool that reads one engine
 * and writes the other, such as `orders copy-to-postgres`, names the definitions directly).
 */
import type { Engine } from './client.ts';

type Binder = (engine: Engine) => void;

const binders: Binder[] = [];
let bound: Engine | undefined;

/** Registers a schema module's binder; it runs now if the engine is already chosen. */
export function onEngine(binder: Binder): void {
  binders.push(binder);
  if (bound) binder(bound);
}

/** Points every schema module at `engine`'s tables. */
export function useEngine(engine: Engine): void {
  if (bound && bound !== engine) {
    throw new Error(`this process already opened a ${bound} database; one process uses one engine`);
  }
  bound = engine;
  for (const binder of binders) binder(engine);
}

/**
 * What a table binding holds before a database is opened: any use throws, so that a query built
 * too early (at import, into a module-level constant) fails at once instead of naming the wrong
 * engine's table.
 */
export function unbound<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get(_target, key) {
      throw new Error(`table ${name} read (${String(key)}) before a database was opened`);
    },
  });
}

/** The engine this process opened, if it opened one. */
export function boundEngine(): Engine | undefined {
  return bound;
}
