import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/lib/log';
import { bestEffort, mailboxStateStore } from '../../src/store/mailbox-state';
import { openStore } from '../../src/store/open';
import { removeTempDirs, tempDir } from '../helpers/env';

afterAll(removeTempDirs);

describe('bestEffort mailbox bookkeeping', () => {
  it('logs a status row it cannot write instead of throwing, but never swallows a position', async () => {
    const store = openStore(tempDir('hd-best-effort-'));
    try {
      const lines: string[] = [];
      const sink = new PassThrough();
      sink.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').trim().split('\n')));
      const state = bestEffort(mailboxStateStore(store.db), createLogger({ level: 'warn', destination: sink }));
      // A real write failure on the real store: the connection refuses every write.
      store.sqlite.pragma('query_only = ON');
      expect(() => state.recordCheck('inbox', 3, 1)).not.toThrow();
      expect(() => state.recordState('inbox', 'failing', 1)).not.toThrow();
      expect(() => state.recordError('inbox', 'disk full', 1)).not.toThrow();
      expect(() => state.savePosition('inbox', '1', 42)).toThrow(/readonly|query_only|attempt to write/i);
      store.sqlite.pragma('query_only = OFF');
      // Writes that succeed say nothing (SQLite's run() returns its result, not a promise).
      state.recordCheck('inbox', 0, 2);
      state.recordState('inbox', 'idle', 2);
      state.recordError('inbox', 'fine again', 2);
      await new Promise<void>((resolve) => setImmediate(resolve)); // the stream hands its lines on
      const warned = lines.map((l) => JSON.parse(l) as { msg: string; what: string }).filter((l) => l.msg === 'cannot record the mailbox status');
      expect(warned.map((l) => l.what)).toEqual(['check', 'state', 'error']);
      expect(mailboxStateStore(store.db).get('inbox')).toMatchObject({ state: 'idle', backlog: 0, lastError: 'fine again' });
    } finally {
      store.close();
    }
  });
});
