import { ackBatch } from '../../src/lib/ack-batch';

describe('ackBatch', () => {
  it('acknowledges after one barrier per batch of `max`, and the rest on flush', async () => {
    const calls: string[] = [];
    const acked: number[][] = [];
    const barrier = async () => {
      await new Promise((r) => setImmediate(r)); // a barrier that really waits (blob fsyncs)
      calls.push('barrier');
    };
    const batch = ackBatch(barrier, (items: number[]) => (calls.push('ack'), acked.push(items)), { max: 3, maxMs: 60_000 });
    for (let i = 1; i <= 7; i++) await batch.add(i);
    await batch.flush();
    await batch.flush(); // nothing left: no barrier
    expect(acked).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(calls).toEqual(['barrier', 'ack', 'barrier', 'ack', 'barrier', 'ack']);
  });

  it('flushes when the oldest item has waited `maxMs`', async () => {
    jest.useFakeTimers();
    try {
      const acked: string[][] = [];
      const batch = ackBatch(() => Promise.resolve(), (items: string[]) => acked.push(items), { max: 100, maxMs: 250 });
      await batch.add('a');
      jest.advanceTimersByTime(300);
      await batch.add('b');
      expect(acked).toEqual([['a', 'b']]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('acknowledges nothing of a batch whose barrier rejects', async () => {
    const acked: number[][] = [];
    const batch = ackBatch(() => Promise.reject(new Error('disk I/O error')), (items: number[]) => acked.push(items), { max: 2, maxMs: 60_000 });
    await batch.add(1);
    await expect(batch.add(2)).rejects.toThrow('disk I/O error');
    expect(acked).toEqual([]);
    await expect(batch.flush()).resolves.toBeUndefined(); // the failed batch is not offered twice
  });
});
