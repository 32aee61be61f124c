/**
 * Waiting on something that may never answer (a provider, a frozen Redis), for a bounded time.
 */

/**
 * `work`'s answer, or the error `onTimeout` makes once `ms` have passed without one. A late answer
 * or failure after that is dropped: nobody waits for it any more.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  work.catch(() => {});
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
