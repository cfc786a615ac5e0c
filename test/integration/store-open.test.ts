import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/lib/package-root';
import { openStore } from '../../src/store/open';
import { listTickets } from '../../src/store/tickets';
import { removeTempDirs, tempDir } from '../helpers/env';

// The children run the compiled store: `npm test` builds dist/ before jest runs.
const OPEN = path.join(packageRoot(), 'dist', 'store', 'open.js');

afterAll(() => removeTempDirs());

/**
 * A child process that opens (creating and migrating) the store in the folder it is sent,
 * after the delay it is sent, and answers `ok` or the error.
 */
function opener(dir: string): ChildProcess {
  const script = path.join(dir, 'opener.js');
  writeFileSync(
    script,
    `const { openStore } = require(${JSON.stringify(OPEN)});
const pause = new Int32Array(new SharedArrayBuffer(4));
process.on('message', ({ data, delayMs }) => {
  Atomics.wait(pause, 0, 0, delayMs);
  try { openStore(data).close(); process.send('ok'); } catch (err) { process.send(String(err.cause ?? err)); }
});`,
  );
  return fork(script, [], { stdio: 'ignore' });
}

describe('opening the store from several processes at once', () => {
  it('creates and migrates a fresh store once, and every process opens it (daemon + CLI at first start)', async () => {
    expect(existsSync(OPEN)).toBe(true);
    const work = tempDir('hd-open-race-');
    const children = [opener(work), opener(work)];
    const answers: Record<string, number> = {};
    try {
      // Staggered by 0-15 ms so that the second process lands in each phase of the first's
      // start: creating the file, switching it to WAL, migrating. Both used to fail there
      // (SQLITE_BUSY on the WAL switch; CREATE TABLE of a table just made by the other).
      for (let round = 0; round < 40; round++) {
        const data = path.join(work, `data-${round}`);
        const replies = await Promise.all(
          children.map(
            (child, i) =>
              new Promise<string>((resolve) => {
                child.once('message', (m) => resolve(String(m)));
                child.send({ data, delayMs: i === 0 ? 0 : (round % 16) * 1 });
              }),
          ),
        );
        for (const reply of replies) answers[reply] = (answers[reply] ?? 0) + 1;
      }
    } finally {
      children.forEach((c) => c.kill());
    }
    expect(answers).toEqual({ ok: 80 });
    // And the result is a working store.
    const store = openStore(path.join(work, 'data-0'));
    try {
      expect(listTickets(store.db)).toEqual([]);
    } finally {
      store.close();
    }
  }, 60_000);
});
