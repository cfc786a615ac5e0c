import { raceTimer } from '../../src/lib/race-timer';

describe('raceTimer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('gives the promise’s value when it comes first, and clears the timer', async () => {
    const onTimeout = jest.fn(() => 'late');
    const raced = raceTimer(Promise.resolve(7), 1000, onTimeout);
    await expect(raced).resolves.toBe(7);
    expect(jest.getTimerCount()).toBe(0);
    expect(onTimeout).not.toHaveBeenCalled();
  });

  it('passes the promise’s rejection through, and clears the timer', async () => {
    await expect(raceTimer(Promise.reject(new Error('boom')), 1000, () => 'late')).rejects.toThrow('boom');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('gives what onTimeout returns, or rejects with what it throws, when time runs out first', async () => {
    const never = new Promise<number>(() => undefined);
    const value = raceTimer(never, 1000, () => 'late');
    const thrown = raceTimer(never, 1000, () => {
      throw new Error('no answer within 1 s');
    });
    jest.advanceTimersByTime(999);
    let settled = false;
    void value.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    jest.advanceTimersByTime(1);
    await expect(value).resolves.toBe('late');
    await expect(thrown).rejects.toThrow('no answer within 1 s');
  });

  it('leaves a promise that rejects after the timeout handled (no unhandled rejection)', async () => {
    let fail: (err: Error) => void = () => undefined;
    const later = new Promise<number>((_, reject) => (fail = reject));
    const raced = raceTimer(later, 10, () => 'late');
    jest.advanceTimersByTime(10);
    await expect(raced).resolves.toBe('late');
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    fail(new Error('too late'));
    jest.useRealTimers();
    await new Promise((r) => setImmediate(r));
    process.off('unhandledRejection', unhandled);
    expect(unhandled).not.toHaveBeenCalled();
  });
});
