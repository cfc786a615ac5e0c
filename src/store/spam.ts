import type { Statement } from 'better-sqlite3';
import type { SpamModel, TokenCounts } from '../spam/model';
import type { Store } from './open';

export type SpamLabel = 'spam' | 'ham';

/**
 * Token counts of the spam model (spam_tokens) and what was learnt (spam_learned). Written
 * with prepared statements: training a corpus means hundreds of thousands of upserts.
 */
export function spamStore(store: Store) {
  const db = store.sqlite;
  const bump = db.prepare(
    'insert into spam_tokens (token, spam_count, ham_count) values (?, ?, ?) on conflict(token) do update set spam_count = spam_count + excluded.spam_count, ham_count = ham_count + excluded.ham_count',
  );
  const prune = db.prepare('delete from spam_tokens where token = ? and spam_count <= 0 and ham_count <= 0');
  const findLearned = db.prepare<[string], { label: SpamLabel; tokens: string }>('select label, tokens from spam_learned where key = ?');
  const insertLearned = db.prepare('insert into spam_learned (key, label, tokens, learned_at) values (?, ?, ?, ?)');
  const deleteLearned = db.prepare('delete from spam_learned where key = ?');
  // Totals are kept as counters (key_value) so reading them costs the same at any model size.
  const addTotal = db.prepare("insert into key_value (key, value) values (?, ?) on conflict(key) do update set value = cast(value as integer) + cast(excluded.value as integer)");
  const readTotals = db.prepare<[], { key: string; value: string }>("select key, value from key_value where key in ('spam:learnt:spam', 'spam:learnt:ham')");
  const total = (label: SpamLabel, delta: 1 | -1) => addTotal.run(`spam:learnt:${label}`, String(delta));

  const count = (tokens: string[], label: SpamLabel, delta: 1 | -1) => {
    for (const t of tokens) {
      bump.run(t, label === 'spam' ? delta : 0, label === 'ham' ? delta : 0);
      if (delta < 0) prune.run(t);
    }
  };

  return {
    /** How a message is learnt now, if it is. */
    learntAs: (key: string): SpamLabel | null => findLearned.get(key)?.label ?? null,
    /** Learns a message as spam or ham; one learnt the other way is unlearnt first. */
    learn: db.transaction((key: string, label: SpamLabel, tokens: string[], at: number): 'learnt' | 'relearnt' | 'already' => {
      const before = findLearned.get(key);
      if (before?.label === label) return 'already';
      if (before) {
        count(JSON.parse(before.tokens) as string[], before.label, -1);
        deleteLearned.run(key);
        total(before.label, -1);
      }
      count(tokens, label, 1);
      insertLearned.run(key, label, JSON.stringify(tokens), at);
      total(label, 1);
      addTotal.run(GENERATION_KEY, '1');
      return before ? 'relearnt' : 'learnt';
    }),
    totals(): { spam: number; ham: number } {
      const t = { spam: 0, ham: 0 };
      for (const r of readTotals.all()) t[r.key === 'spam:learnt:spam' ? 'spam' : 'ham'] = Number(r.value);
      return t;
    },
  };
}

/** Bumped by every learn, so cached counts (spamCounts) are dropped when the model changed, in any process. */
const GENERATION_KEY = 'spam:generation';
/**
 * Tokens whose counts a reader keeps in memory: 500,000 at most (~70 MB; the model bench:spam
 * learns from 2,274 messages has ~150,000, read in ~0.5 s). Below it the whole model is read once per
 * change and every message is classified from memory (bench:spam prints the load apart);
 * above it tokens are read as needed, one query per message.
 */
export const CACHE_LIMIT = 500_000;
/** Counts kept as one number, spam · 2^26 + ham: a third less memory per token than an object. */
const PACK = 2 ** 26;
const pack = (spam: number, ham: number) => spam * PACK + ham;
const unpack = (v: number): TokenCounts => ({ spam: Math.floor(v / PACK), ham: v % PACK });

/** A reader's generation before its first read: unlike any stored one, absent (nothing ever learnt) included. */
const NOT_READ = Symbol('not read');

interface CountReader {
  generation: string | undefined | typeof NOT_READ;
  /** Packed counts (see pack), null for a token known to be absent. */
  cache: Map<string, number | null>;
  /** The cache holds the whole model: a token not in it is not in the model. */
  complete: boolean;
  /** When the whole model was last read (ms since the epoch). */
  loadedAt: number;
  select: Statement<[string], { token: string; spam: number; ham: number }>;
  selectAll: Statement<[], { token: string; spam: number; ham: number }>;
  countAll: Statement<[], { n: number }>;
  readGeneration: Statement<[], { value: string }>;
}

const readers = new WeakMap<Store, CountReader>();

function readerOf(store: Store): CountReader {
  let reader = readers.get(store);
  if (!reader) {
    reader = {
      // Not undefined, which is what an untrained model's generation reads as: its first
      // read must load the (empty) model whole, or every token of every message would be
      // looked up and kept as absent, up to CACHE_LIMIT of them (bench:imap's untrained
      // desk: ~28 MB more live heap after 5,000 messages, its text slices included).
      generation: NOT_READ,
      cache: new Map(),
      complete: false,
      loadedAt: 0,
      // One statement whatever the number of tokens: the list goes in as one JSON array.
      select: store.sqlite.prepare('select token, spam_count spam, ham_count ham from spam_tokens where token in (select value from json_each(?))'),
      selectAll: store.sqlite.prepare('select token, spam_count spam, ham_count ham from spam_tokens'),
      countAll: store.sqlite.prepare('select count(*) n from spam_tokens'),
      readGeneration: store.sqlite.prepare(`select value from key_value where key = '${GENERATION_KEY}'`),
    };
    readers.set(store, reader);
  }
  return reader;
}

/** A model that keeps changing (a long `spam train` beside the daemon) is read whole at most this often. */
const RELOAD_EVERY_MS = 10_000;

/**
 * After the model changed (or at first use): the whole model when it fits the cache and was
 * not read whole in the last RELOAD_EVERY_MS; else nothing yet (tokens are read as needed).
 */
function refill(reader: CountReader) {
  reader.cache.clear();
  const now = Date.now();
  reader.complete = now - reader.loadedAt >= RELOAD_EVERY_MS && (reader.countAll.get()?.n ?? 0) <= CACHE_LIMIT;
  if (!reader.complete) return;
  reader.loadedAt = now;
  for (const r of reader.selectAll.iterate()) reader.cache.set(r.token, pack(r.spam, r.ham));
}

/**
 * Counts of the given tokens (absent ones are simply not in the map). The counts are kept
 * in memory until the model changes (any learn, in any process, bumps its generation): the
 * whole model when it has up to CACHE_LIMIT tokens (read whole at most every 10 s), else the
 * tokens read so far, absent ones included (common words recur in nearly every message).
 */
export function spamCounts(store: Store, tokens: string[]): Map<string, TokenCounts> {
  const out = new Map<string, TokenCounts>();
  if (tokens.length === 0) return out;
  const reader = readerOf(store);
  const generation = reader.readGeneration.get()?.value;
  if (generation !== reader.generation) {
    reader.generation = generation;
    refill(reader);
  }
  const missing: string[] = [];
  for (const t of tokens) {
    const cached = reader.cache.get(t);
    if (typeof cached === 'number') out.set(t, unpack(cached));
    else if (cached === undefined && !reader.complete) missing.push(t);
  }
  if (missing.length === 0) return out;
  if (reader.cache.size + missing.length > CACHE_LIMIT) reader.cache.clear();
  const json = JSON.stringify(missing);
  // Fresh copies as keys: a token is often a slice of the message's text (or a prefix joined
  // to one), and as a key it would keep that whole text in memory for as long as it is cached.
  for (const t of JSON.parse(json) as string[]) reader.cache.set(t, null);
  for (const r of reader.select.all(json)) {
    reader.cache.set(r.token, pack(r.spam, r.ham));
    out.set(r.token, { spam: r.spam, ham: r.ham });
  }
  return out;
}

/** The SQLite store's model as the spam commands use it (spam/model.ts SpamModel). */
export function sqliteSpamModel(store: Store): SpamModel {
  const model = spamStore(store);
  return {
    learn: async (key, label, tokens, at) => model.learn(key, label, tokens, at),
    totals: async () => model.totals(),
    counts: async (tokens) => spamCounts(store, tokens),
  };
}
