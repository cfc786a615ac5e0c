import { writeTurn } from '../../src/store/write-turn';

/** The write turn: one holder at a time by default, `slots` at a time when asked, first come first served. */
const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
};

it.each([1, 2])('with %i slot(s), never more holders than slots, and turns given in the order asked', async (slots) => {
  const turn = writeTurn(undefined, slots);
  let holding = 0;
  let most = 0;
  const started: number[] = [];
  const gates = [0, 1, 2, 3].map(() => gate());
  const runs = gates.map((g, i) =>
    turn.run(async () => {
      started.push(i);
      most = Math.max(most, ++holding);
      await g.opened;
      holding--;
      return i;
    }),
  );
  await new Promise((r) => setImmediate(r));
  expect(started).toEqual([0, 1].slice(0, slots));
  expect(turn.held).toBe(true);
  // Ended out of order, the waiting ones still start in the order they asked.
  for (const i of [1, 0, 3, 2]) {
    gates[i].open();
    await new Promise((r) => setImmediate(r));
  }
  expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
  expect(started).toEqual([0, 1, 2, 3]);
  expect(most).toBe(slots);
  expect(turn.held).toBe(false);
});

it('a turn whose work throws gives its slot to the next', async () => {
  const turn = writeTurn(undefined, 1);
  const failed = turn.run(async () => {
    throw new Error('boom');
  });
  const next = turn.run(async () => 'next');
  await expect(failed).rejects.toThrow('boom');
  await expect(next).resolves.toBe('next');
});
