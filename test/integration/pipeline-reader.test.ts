import { readFileSync } from 'node:fs';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { Pool } from 'pg';
import { answersFor } from '../../src/knowledge/answers';
import { silentLogger } from '../../src/lib/log';
import { runStages } from '../../src/pipeline/run';
import { pgStoreReader } from '../../src/pipeline/pg-store-reader';
import { storeReader } from '../../src/pipeline/store-reader';
import type { Draft, StoreReader } from '../../src/pipeline/types';
import { sha256Hex } from '../../src/lib/hash';
import { listOutbox } from '../../src/store/outbox';
import { copyToPostgres } from '../../src/store/pg/copy';
import * as pgSchema from '../../src/store/pg/schema';
import { usePostgres } from '../harness/use-postgres';
import { busyDesk } from '../helpers/busy-desk';
import { corpusMails, MAIL_CORPUS } from '../helpers/corpus';
import { buildDsn, buildMail } from '../helpers/mail';
import { smtpDesks } from '../helpers/smtp-desk';

/**
 * Issue #25: the stages ask the PostgreSQL store what they ask SQLite (src/store/pg/reads.ts).
 * A desk made by the real pipeline is copied into PostgreSQL, then every probe message —
 * re-deliveries, replies threaded every way, a stranger's tag, an agent's commands, a bounce,
 * plus-addressed acknowledgements, new real mail — runs through all the stages once against
 * each store: every decision must be the same.
 */
const pg = usePostgres();

/** A draft as comparable text: Buffers as their SHA-256. */
const decisions = (draft: Draft) => JSON.stringify(draft, (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' ? `sha256:${sha256Hex(Buffer.from((v as { data: number[] }).data))}` : v));
const fx = smtpDesks();

test('every stage decides the same on SQLite and on the desk copied into PostgreSQL', async () => {
  const d = await busyDesk(fx);
  const pool = new Pool({ connectionString: await pg().createDatabase('reader') });
  try {
    await copyToPostgres(d.store, pool.options.connectionString as string);
    const sqliteReader = storeReader(d.store, d.config);
    const pgReader = pgStoreReader(drizzle(pool, { schema: pgSchema }), d.config);

    const outbox = listOutbox(d.store.db);
    const reply = outbox.find((r) => r.ref === 'HD-1' && r.template === 'agent_reply');
    const ack = outbox.find((r) => r.ref === 'HD-1' && r.template === 'ack');
    const sentElsewhere = outbox.find((r) => r.ref !== 'HD-1' && r.recipients.length > 0);
    expect(reply && ack && sentElsewhere).toBeTruthy();
    const corpus = corpusMails().map((m) => readFileSync(path.join(MAIL_CORPUS, m.file)));
    const probes: Buffer[] = [
      ...corpus.slice(0, 5), // re-delivered bytes
      Buffer.concat([Buffer.from('X-Resent: yes\r\n'), corpus[2]]), // same Message-ID, other bytes
      buildMail({ subject: 'Re: The printer jams', inReplyTo: reply?.messageId, body: 'Thanks, it works!' }),
      buildMail({ subject: 'Re: The printer jams', references: [ack?.messageId ?? '', '<unknown@x>'], body: 'It jams again.' }),
      buildMail({ subject: 'Re: [HD-1] The printer jams', body: 'Still jamming.\n#close' }),
      buildMail({ from: 'mallory@stranger.test', subject: 'Re: [HD-1] The printer jams', body: 'Let me in.' }),
      buildMail({ from: 'Ana <ana@example.test>', subject: 'Re: [HD-1] The printer jams', inReplyTo: ack?.messageId, body: '#assign ana\n#priority high\n#note\nChecked the rollers.' }),
      buildMail({ from: 'Ana <ana@example.test>', subject: 'Re: [HD-2]', body: '#merge HD-1\nSame problem.' }),
      buildDsn(sentElsewhere?.messageId ?? '', sentElsewhere?.recipients[0] ?? ''),
      buildMail({ subject: 'Another question', body: 'Do you sell toner?' }),
      buildMail({ from: 'carla+billing@customer.test', subject: 'Invoice', body: 'Where is my invoice?' }),
      ...corpus.slice(30, 60), // new real mail
    ];
    const run = (bytes: Buffer, store: StoreReader): Promise<Draft> =>
      runStages(
        { raw: { bytes, source: 'probe', position: null, mailbox: 'support' }, rawSha256: sha256Hex(bytes), rawPath: '', receivedAt: d.clock.now },
        { config: d.config, store, now: () => d.clock.now, log: silentLogger(), categoryModel: null, answers: () => answersFor(d.config) },
      );
    const seen = new Set<string>();
    for (const [i, bytes] of probes.entries()) {
      const [onSqlite, onPg] = [await run(bytes, sqliteReader), await run(bytes, pgReader)];
      // As JSON, byte buffers as their hash: jest's deep equality crawls a Buffer byte by byte.
      if (decisions(onPg) !== decisions(onSqlite)) expect({ probe: i, draft: JSON.parse(decisions(onPg)) as unknown }).toEqual({ probe: i, draft: JSON.parse(decisions(onSqlite)) as unknown });
      seen.add(onSqlite.stop?.outcome ?? `threaded by ${onSqlite.thread?.threadedBy}`);
      if (onSqlite.bounce?.outbox) seen.add('bounce of our mail');
      if (onSqlite.update?.merge) seen.add('merge');
    }
    // And each question asked directly, of every ticket and every address the desk knows.
    const ids = (d.store.sqlite.prepare('select id from tickets').pluck().all() as number[]).concat(9999);
    const addresses = (d.store.sqlite.prepare('select email from contacts').pluck().all() as string[]).concat('carla+new@customer.test', 'nobody@nowhere.test');
    type Ask = (r: StoreReader) => Promise<unknown>;
    const asks: [string, Ask][] = [
      ['spamTotals', (r) => r.spamTotals()],
      ['spamCounts', (r) => r.spamCounts(['subject:printer', 'printer', 'from:customer.test', 'no-such-token'])],
      ['openTicketCounts', (r) => r.openTicketCounts(['ana@example.test', 'bob@example.test'])],
      ['secret', (r) => r.messageIdSecret()],
    ];
    for (const id of ids) {
      asks.push([`ticket ${id}`, async (r) => [await r.ticketInfo(id), await r.participants(id), await r.customerThread(id), await r.lastCustomerMessage(id), await r.recentNotes(id, 3), await r.ticketAcknowledged(id), await r.hasEventSince(id, 'status_changed', 0)]]);
    }
    for (const a of addresses) {
      asks.push([`address ${a}`, async (r) => [await r.sentSince('ack', a, 0), await r.sentSince('agent_reply', a, 0), await r.contactLocale(a), await r.suppressedUntil(a, 0), await r.messagesFromSince(1, a, 0), await r.isParticipant(1, a)]]);
    }
    for (const [what, ask] of asks) expect([what, await ask(pgReader)]).toEqual([what, await ask(sqliteReader)]);
    expect(await sqliteReader.sentSince('ack', 'carla@customer.test', 0)).toBe(2);
    expect(await sqliteReader.sentSince('agent_reply', 'carla@customer.test', 0)).toBeGreaterThan(0);
    // The probes reached every kind of lookup.
    expect([...seen].sort()).toEqual(expect.arrayContaining(['bounce of our mail', 'duplicate', 'ignored', 'merge', 'threaded by in-reply-to', 'threaded by new', 'threaded by references', 'threaded by tag']));
  } finally {
    await pool.end();
  }
}, 60_000);
