/** A seeded PRNG (mulberry32) for fuzz tests: the seed is in the test's name, so a failure can be replayed with HD_SEED. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** HD_SEED when set, else a new seed each run. */
export function testSeed(): number {
  const fixed = process.env.HD_SEED;
  return fixed ? Number(fixed) : Math.floor(Math.random() * 2 ** 31);
}

export const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)];
