/**
 * Holds acknowledgements back until a durability barrier covers them (Store.durable): one
 * barrier per batch of at most `max` items, and no item waits longer than `maxMs` once a
 * newer one arrives. flush() at the end of every run. When the barrier rejects, nothing of
 * the batch is acknowledged and the items are dropped (their sources offer them again).
 * Callers await add() and flush(), one at a time.
 */
export interface AckBatch<T> {
  add(item: T): Promise<void>;
  flush(): Promise<void>;
}

export function ackBatch<T>(durable: () => Promise<void>, acknowledge: (items: T[]) => void, limits = { max: 50, maxMs: 250 }): AckBatch<T> {
  let items: T[] = [];
  let oldest = 0;
  const flush = async () => {
    if (items.length === 0) return;
    const batch = items;
    items = [];
    await durable();
    acknowledge(batch);
  };
  return {
    async add(item) {
      if (items.length === 0) oldest = Date.now();
      items.push(item);
      if (items.length >= limits.max || Date.now() - oldest >= limits.maxMs) await flush();
    },
    flush,
  };
}
