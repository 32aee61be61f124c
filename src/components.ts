/**
 * A running service is an ordered list of components, each owning its own start and stop. They
 * start in order and stop in reverse, so that what a component uses outlives it; a component that
 * fails to start stops the ones started before it, and the process holds nothing afterwards.
 */
import type { Logger } from 'pino';

export interface Component {
  /** Said in the log when its stop fails. */
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartedComponents {
  /** Stops every component in reverse order; one whose stop fails does not keep the rest running. */
  stop(): Promise<void>;
}

/** Starts `components` in order; if one throws, stops the started ones in reverse and rethrows. */
export async function startComponents(components: readonly Component[], logger: Logger): Promise<StartedComponents> {
  const started: Component[] = [];
  try {
    for (const component of components) {
      await component.start();
      started.push(component);
    }
  } catch (error) {
    await stopInReverse(started, logger);
    throw error;
  }
  return { stop: () => stopInReverse(started, logger) };
}

async function stopInReverse(started: readonly Component[], logger: Logger): Promise<void> {
  let failure: unknown;
  for (const component of [...started].reverse()) {
    try {
      await component.stop();
    } catch (error) {
      logger.warn({ err: error, component: component.name }, 'a component did not stop cleanly; stopping the rest');
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
}

/** A component with nothing to start or stop on one side. */
export function component(
  name: string,
  parts: { start?: () => Promise<void> | void; stop?: () => Promise<void> | void },
): Component {
  return {
    name,
    start: async () => {
      await parts.start?.();
    },
    stop: async () => {
      await parts.stop?.();
    },
  };
}
