/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight. On the first failure no new
 * call starts; the returned promise settles only after every started call has settled (so a
 * caller cleaning up after a failure never races an upload still running), then rejects with the
 * first error.
 */
export async function runPool<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (err) {
        if (!failed) {
          failed = true;
          firstError = err;
        }
      }
    }
  };
  const n = Math.max(1, Math.min(Math.floor(concurrency), items.length));
  await Promise.all(Array.from({ length: n }, worker));
  if (failed) throw firstError;
}
