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

/**
 * `beforeEach`: awaited before each turn is given (the daemon lets another process write first).
 * `slots`: how many turns may be held at once (1: SQLite's one connection; PostgreSQL's
 * batches each have their own, and a few at a time keep the event loop responsive).
 */
export function writeTurn(beforeEach?: () => Promise<void>, slots = 1): WriteTurn {
  let holders = 0;
  /** Those waiting for a turn, first come first served. */
  const waiting: Array<() => void> = [];
  const take = (): Promise<void> => {
    if (holders < slots && waiting.length === 0) {
      holders++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => waiting.push(resolve));
  };
  const give = () => {
    // Handed straight to the next in line: the number held stays the same.
    const next = waiting.shift();
    if (next) next();
    else holders--;
  };
  return {
    async run<T>(fn: () => T | Promise<T>): Promise<T> {
      await take();
      try {
        await beforeEach?.();
        return await fn();
      } finally {
        give();
      }
    },
    get held() {
      return holders > 0;
    },
  };
}
