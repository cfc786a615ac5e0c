import { Client } from 'pg';
import type { Config } from '../../src/config/schema';
import { drizzle } from 'drizzle-orm/node-postgres';
import { answersFor } from '../../src/knowledge/answers';
import { createIntake, type Intake } from '../../src/intake/intake';
import { pgIntakeStore } from '../../src/intake/pg-intake-store';
import { silentLogger } from '../../src/lib/log';
import { pgOutboxWorker } from '../../src/mail-out/pg-outbox-worker';
import type { Templates } from '../../src/mail-out/templates';
import type { Transport } from '../../src/mail-out/transport';
import type { FieldChange } from '../../src/pipeline/changes';
import { pgApplyStaffChange } from '../../src/pipeline/pg-staff-change';
import type { StaffChangeResult } from '../../src/pipeline/staff-change';
import type { DnsResolver } from '../../src/pipeline/trust';
import type { IngestResult, RawMessage } from '../../src/pipeline/types';
import type { DeskView } from '../../src/store/desk-view';
import { applyPgMigrations } from '../../src/store/pg/migrate';
import { openPgPool, pgTimeouts } from '../../src/store/pg/pool';
import * as schema from '../../src/store/pg/schema';
import { pgSpamLearn } from '../../src/store/pg/spam';
import { inPgTransaction } from '../../src/store/pg/transaction';
import { pgView } from '../../src/store/pg/views';
import { pgSearchTickets } from '../../src/search/pg-tickets';
import { runOnPostgres } from '../../src/jobs/cluster-scheduler';
import type { JobName, JobOutcome } from '../../src/jobs/scheduler';
import type { TicketHit } from '../../src/search/tickets';
import type { SpamLabel } from '../../src/store/spam';
import { startPostgres, type Postgres } from '../harness/postgres';
import { ingestAlone } from './pg-intake';

/**
 * The store the integration suite's desks run on: SQLite (the default), or PostgreSQL with
 * HELPDESK_TEST_STORE=postgres (`npm run test:postgres`): the same tests, the desk's intake,
 * outbox and views on a PostgreSQL database of its own.
 */
export const TEST_STORE: 'sqlite' | 'postgres' = process.env.HELPDESK_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

let server: Promise<Postgres> | null = null;
let template: Promise<string> | null = null;
let databases = 0;
/** A desk opened again on the same data folder (a restart) finds its database again. */
const byDataDir = new Map<string, string>();
if (TEST_STORE === 'postgres') {
  // One server per test file, stopped after its last test (the desks' pools are closed by then).
  afterAll(async () => {
    if (server) await (await server).stop();
  });
}

/** A migrated database for the desk in `dataDir`: a copy of a template migrated once per test file. */
export async function testDatabaseUrl(dataDir: string): Promise<string> {
  const known = byDataDir.get(dataDir);
  if (known) return known;
  server ??= startPostgres();
  const pg = await server;
  template ??= (async () => {
    const url = await pg.createDatabase('desk_template');
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      await applyPgMigrations(c);
    } finally {
      await c.end();
    }
    return 'desk_template';
  })();
  const from = await template;
  const name = `desk_${++databases}`;
  const admin = new Client({ connectionString: pg.url });
  await admin.connect();
  try {
    await admin.query(`create database ${name} template ${from}`);
  } finally {
    await admin.end();
  }
  const url = pg.url.replace(/\/[^/]+$/, `/${name}`);
  byDataDir.set(dataDir, url);
  return url;
}

export interface PgTestDesk {
  intake: Intake;
  view: DeskView;
  ingest(raw: RawMessage): Promise<IngestResult>;
  send(): Promise<number>;
  staffChange: StaffChange;
  /** `helpdesk tickets search` on the desk's store. */
  search(query: string, limit: number): Promise<TicketHit[]>;
  /** A scheduled job's run at `at`, as the daemon's scheduler runs it on this store. */
  runJob(name: JobName, at: number): Promise<JobOutcome | null>;
  /** Teaches the spam filter a message's tokens, as `spam train` does. */
  learnSpam(key: string, label: SpamLabel, tokens: string[], at: number): Promise<unknown>;
  close(): Promise<void>;
}

/** A change staff make outside mail (`helpdesk tickets set`), on the desk's store. */
export type StaffChange = (ticket: { id: number; ref: string }, change: FieldChange, actor: string, at: number, reason: string | null) => Promise<StaffChangeResult>;

/** The PostgreSQL side of a test desk: its intake, outbox worker and views, as a daemon on PostgreSQL has them. */
export async function openPgTestDesk(o: { dataDir: string; config: () => Config; now?: () => number; dnsResolver?: DnsResolver; templates: Templates; transport: Transport }): Promise<PgTestDesk> {
  const url = await testDatabaseUrl(o.dataDir);
  const pool = await openPgPool(url, silentLogger(), 4, pgTimeouts(o.config().limits.processingTime));
  const intake = createIntake({ store: pgIntakeStore(pool, silentLogger(), { categoryCheckEveryMs: 0 }), config: o.config, log: silentLogger(), now: o.now, parseAhead: false, dnsResolver: o.dnsResolver, answers: () => answersFor(o.config()) });
  const worker = pgOutboxWorker({ pool, config: o.config, templates: o.templates, transport: o.transport, log: silentLogger(), now: o.now, pollMs: 3_600_000 });
  return {
    intake,
    view: pgView(drizzle(pool, { schema })),
    search: (query, limit) => pgSearchTickets(drizzle(pool, { schema }), o.config(), query, limit),
    runJob: (name, at) => runOnPostgres(pool, name, o.config(), at),
    ingest: (raw) => ingestAlone(intake, raw),
    send: () => worker.drain(),
    staffChange: (ticket, change, actor, at, reason) => pgApplyStaffChange(pool, o.config(), ticket, change, actor, at, reason),
    learnSpam: (key, label, tokens, at) => inPgTransaction(pool, (db) => pgSpamLearn(db, key, label, tokens, at)),
    async close() {
      await worker.stop();
      await intake.close();
      await pool.end();
    },
  };
}

/** A PostgreSQL test desk opened on first use (a test that never touches its desk starts no database). */
export function lazyPgTestDesk(open: () => Promise<PgTestDesk>) {
  let opened: Promise<PgTestDesk> | null = null;
  const pg = () => (opened ??= open());
  return {
    pg,
    view: lazyView(async () => (await pg()).view),
    close: async () => {
      if (opened) await (await opened).close();
    },
  };
}

/** What a test that reads the SQLite file directly gets on PostgreSQL: a clear error, not an empty file. */
export function noSqliteStore(): never {
  throw new Error('this test reads the SQLite store directly: it runs on SQLite only');
}

/** A DeskView whose store is opened on first use. */
export function lazyView(open: () => Promise<DeskView>): DeskView {
  return {
    listTickets: async (options) => (await open()).listTickets(options),
    showTicket: async (ref) => (await open()).showTicket(ref),
    ticketByRef: async (ref) => (await open()).ticketByRef(ref),
    listInbound: async (options) => (await open()).listInbound(options),
    listOutbox: async (options) => (await open()).listOutbox(options),
    listEvents: async (options) => (await open()).listEvents(options),
    suppressedUntil: async (address, now) => (await open()).suppressedUntil(address, now),
    spamTotals: async () => (await open()).spamTotals(),
    contactLocale: async (address) => (await open()).contactLocale(address),
    readFile: async (storePath) => (await open()).readFile(storePath),
    reportRows: async (since, until) => (await open()).reportRows(since, until),
    mailboxState: async (mailbox) => (await open()).mailboxState(mailbox),
  };
}

/** A test of what only the SQLite store has (its files, its own intake store): run on SQLite, skipped on PostgreSQL. */
export const sqliteOnly: jest.It = TEST_STORE === 'sqlite' ? it : it.skip;
