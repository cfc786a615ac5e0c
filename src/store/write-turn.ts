/**
 * Whose turn it is to write through the store's one connection. SQLite has one transaction per
 * connection, so a writer that keeps a transaction open across awaits (the intake's batch) would
 * otherwise take in whatever anyone else wrote meanwhile, and its commit or rollback would decide
 * their rows too. Every writer in the daemon takes the turn: the intake for each batch, the
 * outbox worker for each look at the queue and each row it marks, the jobs for each run. Turns
 * are given in the order they were asked for, so no writer starves another.
 */
export interface WriteTurn {
  /** Runs `fn` once every earlier turn has ended; the turn ends when `fn` settles. */
  run<T>(fn: () => T | Promise<T>): Promise<T>;
  /** Whether someone holds the turn now. */
  readonly held: boolean;
}

/** `beforeEach`: awaited before each turn is given (the daemon lets another process write first). */
export function writeTurn(beforeEach?: () => Promise<void>): WriteTurn {
  let tail: Promise<void> = Promise.resolve();
  let holders = 0;
  return {
    run<T>(fn: () => T | Promise<T>): Promise<T> {
      const previous = tail;
      let release!: () => void;
      tail = new Promise<void>((resolve) => (release = resolve));
      return previous.then(async () => {
        holders++;
        try {
          await beforeEach?.();
          return await fn();
        } finally {
          holders--;
          release();
        }
      });
    },
    get held() {
      return holders > 0;
    },
  };
}
