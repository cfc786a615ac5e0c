import { categoryModelCache } from '../../src/pipeline/category-model';

const EXAMPLES = [
  { text: 'printer jammed', category: 'hardware' },
  { text: 'printer toner', category: 'hardware' },
  { text: 'vpn login', category: 'software' },
  { text: 'vpn password', category: 'software' },
];

describe('categoryModelCache', () => {
  it('retrains only when the signature changed, checks at most every checkEveryMs, and one check serves every caller meanwhile', async () => {
    let signature = 'a';
    const asked = { signature: 0, examples: 0 };
    const clock = { now: 0 };
    const cache = categoryModelCache(
      {
        signature: async () => {
          asked.signature++;
          return signature;
        },
        examples: async () => {
          asked.examples++;
          return EXAMPLES;
        },
      },
      { checkEveryMs: 1000, now: () => clock.now },
    );
    const [a, b] = await Promise.all([cache.current(), cache.current()]);
    expect(a).toBe(b);
    expect(a?.predict('printer')?.category).toBe('hardware');
    expect(asked).toEqual({ signature: 1, examples: 1 });
    clock.now = 500;
    await cache.current();
    expect(asked.signature).toBe(1);
    clock.now = 1500;
    expect(await cache.current()).toBe(a); // same signature: the same snapshot, not retrained
    expect(asked).toEqual({ signature: 2, examples: 1 });
    signature = 'b';
    clock.now = 3000;
    expect(await cache.current()).not.toBe(a);
    expect(asked).toEqual({ signature: 3, examples: 2 });
  });

  it('keeps the last snapshot when a check fails, reports it, and checks again later', async () => {
    let failing = false;
    let signature = 'a';
    const errors: unknown[] = [];
    const clock = { now: 0 };
    const cache = categoryModelCache(
      {
        signature: async () => {
          if (failing) throw new Error('connection refused');
          return signature;
        },
        examples: async () => EXAMPLES,
      },
      { checkEveryMs: 1000, now: () => clock.now, onError: (err) => errors.push(err) },
    );
    const first = await cache.current();
    failing = true;
    signature = 'b';
    clock.now = 1000;
    expect(await cache.current()).toBe(first);
    expect(errors.map(String)).toEqual(['Error: connection refused']);
    failing = false;
    clock.now = 2000;
    const next = await cache.current();
    expect(next).not.toBe(first);
    expect(next?.examples).toBe(4);
  });
});
