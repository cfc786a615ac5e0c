/**
 * Capped exponential backoff with full jitter: attempt 0 waits up to `baseMs`, each further
 * attempt doubles the cap until `maxMs`. Jitter keeps many mailboxes from retrying in step.
 */
export function backoffDelay(attempt: number, baseMs = 1000, maxMs = 300_000, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** A promise that resolves after `ms`, or at once when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    timer.unref();
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
