import { loadConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { silentLogger } from '../../src/lib/log';
import { outboxWorker } from '../../src/mail-out/outbox-worker';
import { defaultTemplatesDir, loadTemplates } from '../../src/mail-out/templates';
import { makeTransport } from '../../src/mail-out/transport';
import { ingest } from '../../src/pipeline/run';
import { JOBS } from '../../src/jobs/scheduler';
import { applyStaffChange } from '../../src/pipeline/staff-change';
import type { DnsResolver } from '../../src/pipeline/trust';
import type { RawMessage } from '../../src/pipeline/types';
import { sqliteView, type DeskView } from '../../src/store/desk-view';
import { openStore, type Store } from '../../src/store/open';
import { spamStore } from '../../src/store/spam';
import { removeTempDirs, tempDir, writeConfigDir } from './env';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink';
import { lazyPgTestDesk, noSqliteStore, openPgTestDesk, TEST_STORE, type PgTestDesk, type StaffChange } from './test-store';

/** A help desk fed directly through the pipeline, its outbox worker sending to a real SMTP server. */
/**
 * What a mail our MTA (mx.example.test) verified carries in `authentication-results` mode: its
 * result, and the DKIM-Signature of example.test whose h= says which fields it signs (trust.ts
 * reads it; the MTA checked the cryptography).
 */
export const VERIFIED_BY_MTA = {
  'Authentication-Results': 'mx.example.test; spf=pass smtp.mailfrom=example.test; dkim=pass header.d=example.test',
  'DKIM-Signature': 'v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test; s=s1; h=from:to:cc:subject:date:message-id:in-reply-to:references; bh=AAAA; b=AAAA',
};

export const AGENTS = `trust: { mode: from-header }
agents:
  - { name: Ana, email: ana@example.test, groups: [software], admin: true }
groups:
  - { name: software, members: [ana@example.test] }
`;
export const RULES = `rules:
  - { name: everything to Ana, when: {}, then: { assign: { agent: ana@example.test } } }
`;

export interface Desk {
  config: Config;
  /** The SQLite store; a test reading it directly runs on SQLite only (test-store.ts). */
  store: Store;
  /** What the desk holds, from whichever store it runs on. */
  view: DeskView;
  clock: { now: number };
  dataDir: string;
  /** Ingests a message as the source `test`; `raw` adds what a real source would say of it (RawMessage.filedAsJunk). */
  ingest(bytes: Buffer, raw?: Partial<RawMessage>): ReturnType<typeof ingest>;
  /** Sends everything due, as the daemon's worker does. */
  send(): Promise<number>;
  /** A change staff make outside mail (`helpdesk tickets set`). */
  staffChange: StaffChange;
  /** Teaches the spam filter a message's tokens, as `spam train` does. */
  learnSpam: PgTestDesk['learnSpam'];
  /** A scheduled job's run at `at` on the desk's store (the job alone: no scheduler, no record of the run). */
  runJob: PgTestDesk['runJob'];
  close(): Promise<void>;
}

/** A help desk on a real SQLite file whose outgoing mail goes to the SMTP server at `port`. */
export function openDesk(port: number, extra = '', address = 'support@example.test', files: { agents?: string; rules?: string; customers?: string; dataDir?: string; clock?: { now: number }; locale?: string; dnsResolver?: DnsResolver; smtpPassword?: string } = {}): Desk {
  const config = loadConfig(
    writeConfigDir({
      'helpdesk.yaml': `helpdesk: { name: Support, address: ${address}, ticketPrefix: HD, timezone: Europe/Madrid${files.locale ? `, locale: ${files.locale}` : ''} }
mailboxes: [{ id: support, maildir: maildir-support }]
outgoing: { smtp: { host: 127.0.0.1, port: ${port}, secure: false${files.smtpPassword ? `, user: support, pass: ${files.smtpPassword}` : ''} } }
${extra}`,
      'agents.yaml': files.agents ?? AGENTS,
      'rules.yaml': files.rules ?? RULES,
      ...(files.customers ? { 'customers.yaml': files.customers } : {}),
    }),
  );
  // The same dataDir (and clock) again is the same help desk after a restart.
  const dataDir = files.dataDir ?? tempDir('hd-notify-');
  const clock = files.clock ?? { now: Date.parse('2026-11-23T10:00:00Z') };
  const now = () => clock.now;
  const templates = loadTemplates(defaultTemplatesDir(), () => config);
  const transport = makeTransport(config.outgoing, dataDir);
  if (TEST_STORE === 'postgres') {
    const { pg, view, close } = lazyPgTestDesk(() => openPgTestDesk({ dataDir, config: () => config, now, dnsResolver: files.dnsResolver, templates, transport }));
    return {
      config,
      get store(): Store {
        return noSqliteStore();
      },
      view,
      clock,
      dataDir,
      ingest: async (bytes, raw) => (await pg()).ingest({ bytes, source: 'test', position: null, mailbox: 'support', ...raw }),
      send: async () => (await pg()).send(),
      staffChange: async (...args) => (await pg()).staffChange(...args),
      learnSpam: async (...args) => (await pg()).learnSpam(...args),
      runJob: async (...args) => (await pg()).runJob(...args),
      close,
    };
  }
  const store = openStore(dataDir);
  const worker = outboxWorker({ store, config: () => config, templates, transport, log: silentLogger(), now, pollMs: 3_600_000 });
  return {
    config,
    store,
    view: sqliteView(store),
    clock,
    dataDir,
    ingest: (bytes, raw) => ingest({ bytes, source: 'test', position: null, mailbox: 'support', ...raw }, { config, store, log: silentLogger(), now, dnsResolver: files.dnsResolver }),
    send: () => worker.drain(),
    staffChange: (ticket, change, actor, at, reason) => applyStaffChange(store, config, ticket, change, actor, at, reason),
    learnSpam: async (key, label, tokens, at) => spamStore(store).learn(key, label, tokens, at),
    runJob: async (name, at) => JOBS[name].run(store, config, at),
    close: async () => {
      await worker.stop();
      store.close();
    },
  };
}

/**
 * For a test file: a fresh SMTP sink per test, and the desks a test opens, closed after it.
 * `sink` may be replaced by a test (a server started again on the same port).
 */
export function smtpDesks(defaults: { extra?: string; address?: string; files?: Parameters<typeof openDesk>[3] } = {}) {
  const desks: Desk[] = [];
  const fixture = {
    sink: undefined as unknown as SmtpSink,
    open(options: { extra?: string; address?: string; files?: Parameters<typeof openDesk>[3] } = {}): Desk {
      const d = openDesk(fixture.sink.port, options.extra ?? defaults.extra ?? '', options.address ?? defaults.address, { ...defaults.files, ...options.files });
      desks.push(d);
      return d;
    },
    /** Closes one desk now (a restart); the others are closed after the test. */
    async close(d: Desk): Promise<void> {
      desks.splice(desks.indexOf(d), 1);
      await d.close();
    },
  };
  beforeEach(async () => {
    fixture.sink = await startSmtpSink();
  });
  afterEach(async () => {
    for (const d of desks.splice(0)) await d.close();
    await fixture.sink.close();
  });
  afterAll(removeTempDirs);
  return fixture;
}
