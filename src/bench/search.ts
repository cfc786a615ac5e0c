/**
 * `npm run bench:search [-- DIR]`
 * Seeds a fresh store with 100,000 tickets (`BENCH_SEARCH_TICKETS`) of two messages each, their
 * subjects and text taken from real mail (default: the SpamAssassin ham in ../shared/corpus,
 * mixed so every ticket differs), through the same triggers that keep the index in the
 * daemon. Then times 200 queries (single words from rare to common, two-word queries,
 * phrases, words with filters) through `searchTickets` (ranking and snippets included) beside
 * the baseline of a plain `LIKE '%word%'` scan of subjects and texts, and the similar-ticket
 * lookup the notifications make. Prints p50/p95/max for each. Asserts nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { helpdeskFileSchema, type Config } from '../config/schema';
import { searchTickets } from '../search/tickets';
import { similarResolved } from '../search/similar';
import { openStore } from '../store/open';
import { loadCorpus, out, percentile } from './common';

const TICKETS = Number(process.env.BENCH_SEARCH_TICKETS ?? 100_000);
const QUERIES = 200;

/** Subject and the first ~1,200 characters of a plain-text body, from raw mail. */
function textOf(raw: Buffer): { subject: string; text: string } | null {
  const s = raw.toString('latin1');
  const split = s.search(/\r?\n\r?\n/);
  if (split < 0) return null;
  const head = s.slice(0, split).replace(/\r?\n[ \t]+/g, ' ');
  if (/^content-type:\s*(multipart|text\/html)/im.test(head)) return null;
  const subject = /^subject:[ \t]*(.*)$/im.exec(head)?.[1]?.trim() ?? '';
  const text = s
    .slice(split)
    .split(/\r?\n/)
    .filter((l) => !l.startsWith('>'))
    .join('\n')
    .trim()
    .slice(0, 1200);
  return text.length > 40 ? { subject, text } : null;
}

function ms(values: number[]): string {
  return `p50 ${percentile(values, 50).toFixed(2)} ms · p95 ${percentile(values, 95).toFixed(2)} ms · max ${Math.max(...values).toFixed(2)} ms`;
}

function time(work: () => unknown): number {
  const t = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function main(): void {
  const source = process.argv[2] ?? path.resolve(__dirname, '../../../../shared/corpus/spamassassin/ham');
  const texts = loadCorpus(source)
    .map(textOf)
    .filter((t): t is { subject: string; text: string } => t !== null);
  if (texts.length < 50) throw new Error(`too few plain-text messages in ${source}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hd-bench-search-'));
  const store = openStore(dir);
  const config = { ...helpdeskFileSchema.parse({ helpdesk: { address: 'support@example.test' } }), agents: [], groups: [], dir } as unknown as Config;
  try {
    // A deterministic generator: every run seeds the same desk.
    let seed = 22;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(list: T[]) => list[Math.floor(rnd() * list.length)];
    const statuses = ['new', 'open', 'pending', 'resolved', 'closed'];
    const started = Date.now();
    const db = store.sqlite;
    const contact = db.prepare("insert into contacts (email, name, created_at) values (?, ?, 0) returning id").pluck();
    const ticket = db.prepare("insert into tickets (ref, subject, status, severity, priority, tags, customer_id, created_at, updated_at) values (?, ?, ?, 'medium', 'medium', '[]', ?, ?, ?) returning id").pluck();
    const message = db.prepare("insert into messages (ticket_id, direction, kind, message_id, references_ids, from_address, to_addresses, cc_addresses, subject, text, headers, created_at) values (?, ?, ?, ?, '[]', ?, '[]', '[]', ?, ?, '[]', ?)");
    db.transaction(() => {
      const customers = Array.from({ length: 5000 }, (_, i) => ({ id: contact.get(`c${i}@d${i % 300}.example`, `Customer ${i}`) as number, email: `c${i}@d${i % 300}.example` }));
      for (let i = 1; i <= TICKETS; i++) {
        const a = pick(texts);
        const b = pick(texts);
        const c = pick(customers);
        const at = started - (TICKETS - i) * 60_000;
        const id = ticket.get(`HD-${i}`, a.subject, pick(statuses), c.id, at, at) as number;
        // The question mixes two real mails, so no two tickets are the same; the answer a third.
        message.run(id, 'in', 'customer', `<q${i}@bench>`, c.email, a.subject, `${a.text}\n\n${b.text.slice(0, 400)}`, at);
        message.run(id, 'in', 'agent_reply', `<a${i}@bench>`, 'agent@example.test', `Re: ${a.subject}`, pick(texts).text.slice(0, 600), at + 1000);
      }
    })();
    out(`seeded ${TICKETS} tickets, ${2 * TICKETS} messages (${texts.length} source mails) in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // Words of the source mails, from rare to common, for the queries.
    const counts = new Map<string, number>();
    for (const t of texts) for (const w of new Set(t.text.toLowerCase().match(/\p{L}{4,}/gu) ?? [])) counts.set(w, (counts.get(w) ?? 0) + 1);
    const words = [...counts.keys()];
    const queries = Array.from({ length: QUERIES }, (_, i) => {
      const w = pick(words);
      switch (i % 4) {
        case 0:
          return w;
        case 1:
          return `${w} ${pick(words)}`;
        case 2:
          return `${w} status:open,new`;
        default:
          return `${w} customer:@d${i % 300}.example`;
      }
    });
    const fts = queries.map((q) => time(() => searchTickets(store.db, config, q, 20)));
    // The baseline: what search was before an index, a scan with LIKE (first word, 50 queries: each scans everything).
    const like = db.prepare("select distinct m.ticket_id from messages m join tickets t on t.id = m.ticket_id where (m.subject like ? or m.text like ?) and t.status <> 'spam' order by m.ticket_id desc limit 20");
    const scans = queries.slice(0, 50).map((q) => {
      const w = `%${q.split(' ')[0]}%`;
      return time(() => like.all(w, w));
    });
    const similar = texts.slice(0, 100).map((t) => time(() => similarResolved(store, { subject: t.subject, text: t.text }, -1, 3)));
    out(`tickets search (FTS5, bm25, snippets), ${QUERIES} queries: ${ms(fts)}`);
    out(`baseline LIKE scan, 50 queries:                 ${ms(scans)}`);
    out(`p95 ratio LIKE / FTS: ${(percentile(scans, 95) / percentile(fts, 95)).toFixed(0)}×`);
    out(`similar resolved tickets (notifications), 100 questions: ${ms(similar)}`);
    const size = store.db.get<{ n: number }>(sql`select page_count * page_size as n from pragma_page_count(), pragma_page_size()`).n;
    out(`database ${(size / 1e6).toFixed(0)} MB`);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
