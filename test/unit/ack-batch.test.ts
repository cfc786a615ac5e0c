import { ackBatch } from '../../src/lib/ack-batch';

describe('ackBatch', () => {
  it('acknowledges after one barrier per batch of `max`, and the rest on flush', () => {
    const calls: string[] = [];
    const acked: number[][] = [];
    const batch = ackBatch(() => calls.push('barrier'), (items: number[]) => (calls.push('ack'), acked.push(items)), { max: 3, maxMs: 60_000 });
    for (let i = 1; i <= 7; i++) batch.add(i);
    batch.flush();
    batch.flush(); // nothing left: no barrier
    expect(acked).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(calls).toEqual(['barrier', 'ack', 'barrier', 'ack', 'barrier', 'ack']);
  });

  it('flushes when the oldest item has waited `maxMs`', () => {
    jest.useFakeTimers();
    try {
      const acked: string[][] = [];
      const batch = ackBatch(() => undefined, (items: string[]) => acked.push(items), { max: 100, maxMs: 250 });
      batch.add('a');
      jest.advanceTimersByTime(300);
      batch.add('b');
      expect(acked).toEqual([['a', 'b']]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('acknowledges nothing of a batch whose barrier throws', () => {
    const acked: number[][] = [];
    const batch = ackBatch(
      () => {
        throw new Error('disk I/O error');
      },
      (items: number[]) => acked.push(items),
      { max: 2, maxMs: 60_000 },
    );
    batch.add(1);
    expect(() => batch.add(2)).toThrow('disk I/O error');
    expect(acked).toEqual([]);
    expect(() => batch.flush()).not.toThrow(); // the failed batch is not offered twice
  });
});
