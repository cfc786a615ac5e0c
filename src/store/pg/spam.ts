import { sql } from 'drizzle-orm';
import { lessonOf, type LessonResult } from '../../spam/correct';
import type { SpamLabel } from '../spam';
import { readBlob } from './blobs';
import { firstInboundRawPath, type PgDb } from './reads';

/** How a message is learnt now, if it is (store/spam.ts learntAs). */
export async function pgLearntAs(db: PgDb, key: string): Promise<SpamLabel | null> {
  return (await db.execute<{ label: SpamLabel }>(sql`select label from spam_learned where key = ${key}`)).rows[0]?.label ?? null;
}

/**
 * Learns a message as spam or ham on the PostgreSQL store, as the SQLite store's
 * spamStore().learn does (a message learnt the other way is unlearnt first; the same way
 * again changes nothing; totals and the model's generation move with it), but a whole
 * message's tokens at a time: one statement per step instead of one per token, since each
 * statement is a round trip. Run it in a transaction (the caller's, or one per call).
 * spam-model.test.ts learns the same sequence on both stores and compares the tables.
 */
export async function pgSpamLearn(db: PgDb, key: string, label: SpamLabel, tokens: string[], at: number): Promise<'learnt' | 'relearnt' | 'already'> {
  const before = (await db.execute<{ label: SpamLabel; tokens: string[] }>(sql`select label, tokens from spam_learned where key = ${key} for update`)).rows[0];
  if (before?.label === label) return 'already';
  if (before) {
    await count(db, before.tokens, before.label, -1);
    await db.execute(sql`delete from spam_learned where key = ${key}`);
    await addTotal(db, `spam:learnt:${before.label}`, -1);
  }
  await count(db, tokens, label, 1);
  await db.execute(sql`insert into spam_learned (key, label, tokens, learned_at) values (${key}, ${label}, ${JSON.stringify(tokens)}::jsonb, ${at})`);
  await addTotal(db, `spam:learnt:${label}`, 1);
  await addTotal(db, 'spam:generation', 1);
  return before ? 'relearnt' : 'learnt';
}

/** Adds `delta` to every token's count of `label`; a token left at zero in both is removed. */
async function count(db: PgDb, tokens: string[], label: SpamLabel, delta: 1 | -1): Promise<void> {
  const [spam, ham] = label === 'spam' ? [delta, 0] : [0, delta];
  const list = [...new Set(tokens)];
  await db.execute(sql`
    insert into spam_tokens (token, spam_count, ham_count)
    select t, ${spam}::int, ${ham}::int from unnest(${sql.param(list)}::text[]) as t
    on conflict (token) do update set spam_count = spam_tokens.spam_count + excluded.spam_count, ham_count = spam_tokens.ham_count + excluded.ham_count`);
  if (delta < 0) await db.execute(sql`delete from spam_tokens where token = any(${sql.param(list)}::text[]) and spam_count <= 0 and ham_count <= 0`);
}

async function addTotal(db: PgDb, key: string, delta: number): Promise<void> {
  await db.execute(sql`insert into key_value (key, value) values (${key}, ${String(delta)}) on conflict (key) do update set value = (key_value.value::bigint + excluded.value::bigint)::text`);
}

/**
 * Staff corrected a verdict: the ticket's first inbound message (its raw mail in `blobs`) is
 * learnt that way, as spam/correct.ts learnCorrection does on SQLite. In the caller's transaction.
 */
export async function pgLearnCorrection(db: PgDb, ticketId: number, label: SpamLabel, at: number): Promise<LessonResult> {
  const rawPath = await firstInboundRawPath(db, ticketId);
  const bytes = rawPath ? await readBlob(db, rawPath) : null;
  if (!bytes) return 'no message';
  const { key, tokens } = lessonOf(bytes);
  return pgSpamLearn(db, key, label, tokens, at);
}
