import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { Client } from 'pg';
import { spamInput } from '../../src/spam/spam-input';
import { tokenize } from '../../src/spam/tokenize';
import { openStore } from '../../src/store/open';
import { applyPgMigrations } from '../../src/store/pg/migrate';
import { pgRowLines, sqliteRowLines } from '../../src/store/pg/copy';
import * as pgSchema from '../../src/store/pg/schema';
import { pgSpamLearn } from '../../src/store/pg/spam';
import { deskTables } from '../../src/store/pg/tables';
import { spamStore, type SpamLabel } from '../../src/store/spam';
import { usePostgres } from '../harness/use-postgres';
import { FIXTURES, removeTempDirs, tempDir } from '../helpers/env';

/**
 * Issue #25: the spam filter learns the same on PostgreSQL as on SQLite (learning, the same
 * label again, relearning the other way, totals and generation), on real mail's tokens.
 */
const pg = usePostgres();
afterAll(removeTempDirs);

test('learning, relearning and learning again leave the same spam model in both stores', async () => {
  const dir = path.join(FIXTURES, 'spamassassin');
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.endsWith('.md'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort()
    .slice(0, 6);
  expect(files).toHaveLength(6);
  const tokens = files.map((f) => [...tokenize(spamInput(readFileSync(f)))]);
  // [message key, label, whose tokens]: the last step relearns a message with other tokens (a
  // newer tokenizer), so tokens only its old version had drop to nothing and are removed.
  const steps: [number, SpamLabel, number][] = [[0, 'spam', 0], [1, 'ham', 1], [2, 'spam', 2], [0, 'spam', 0], [0, 'ham', 0], [3, 'ham', 3], [1, 'spam', 1], [4, 'spam', 4], [5, 'ham', 5], [2, 'ham', 2], [4, 'ham', 3]];

  const store = openStore(tempDir('hd-spam-model-'));
  const client = new Client({ connectionString: await pg().createDatabase('spam_model') });
  await client.connect();
  try {
    await applyPgMigrations(client);
    const db = drizzle(client, { schema: pgSchema });
    const model = spamStore(store);
    for (const [step, [i, label, t]] of steps.entries()) {
      const at = 1_700_000_000_000 + step;
      const onSqlite = model.learn(`key-${i}`, label, tokens[t], at);
      await client.query('BEGIN');
      const onPg = await pgSpamLearn(db, `key-${i}`, label, tokens[t], at);
      await client.query('COMMIT');
      expect({ step, result: onPg }).toEqual({ step, result: onSqlite });
    }
    for (const table of deskTables().filter((t) => t.name.startsWith('spam_'))) {
      expect({ table: table.name, rows: await pgRowLines(client, table) }).toEqual({ table: table.name, rows: [...sqliteRowLines(store, table)] });
    }
    const spamKeys = "select key, value from key_value where key like 'spam:%' order by key";
    expect((await client.query(spamKeys)).rows).toEqual(store.sqlite.prepare(spamKeys).all());
    expect(model.totals()).toEqual({ spam: 1, ham: 5 });
  } finally {
    await client.end();
    store.close();
  }
});
