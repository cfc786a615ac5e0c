import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { silentLogger } from '../../src/lib/log';
import { ingest } from '../../src/pipeline/run';
import type { DnsResolver } from '../../src/pipeline/trust';
import type { IngestResult } from '../../src/pipeline/types';
import { defaultTemplatesDir, loadTemplates } from '../../src/mail-out/templates';
import { makeTransport } from '../../src/mail-out/transport';
import { sqliteView, type DeskView } from '../../src/store/desk-view';
import { openStore, type Store } from '../../src/store/open';
import { searchTickets, type TicketHit } from '../../src/search/tickets';
import { applyStaffChange } from '../../src/pipeline/staff-change';
import { lazyPgTestDesk, noSqliteStore, openPgTestDesk, TEST_STORE, type StaffChange } from './test-store';

export const FIXTURES = path.resolve(__dirname, '../fixtures');

const tempDirs: string[] = [];

export function tempDir(prefix = 'hd-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export const DEFAULT_HELPDESK_YAML = `helpdesk: { name: Support, address: support@example.test, ticketPrefix: HD }
mailboxes:
  - { id: support, maildir: maildir-support }
  - { id: sales, maildir: maildir-sales }
`;

export const DEFAULT_AGENTS_YAML = `trust: { mode: from-header }
agents:
  - { name: Ana, email: ana@example.test, groups: [software], admin: true }
groups:
  - { name: software, members: [ana@example.test] }
`;

/** A config dir with the given file texts (helpdesk.yaml and agents.yaml have test defaults). */
export function writeConfigDir(files: Partial<Record<'helpdesk.yaml' | 'agents.yaml' | 'rules.yaml' | 'customers.yaml', string>> = {}): string {
  const dir = tempDir('hd-config-');
  const all = { 'helpdesk.yaml': DEFAULT_HELPDESK_YAML, 'agents.yaml': DEFAULT_AGENTS_YAML, ...files };
  for (const [name, text] of Object.entries(all)) writeFileSync(path.join(dir, name), text);
  return dir;
}

/** A help desk on a real SQLite file in a temp dir, fed directly through the pipeline. */
export interface TestDesk {
  config: Config;
  /** The SQLite store; a test reading it directly runs on SQLite only (test-store.ts). */
  store: Store;
  /** What the desk holds, from whichever store it runs on. */
  view: DeskView;
  dataDir: string;
  ingest(bytes: Buffer | string, options?: { source?: string; mailbox?: string; now?: number; dnsResolver?: DnsResolver }): Promise<IngestResult>;
  /** `helpdesk tickets search` on the desk's store. */
  search(query: string, limit?: number): Promise<TicketHit[]>;
  /** A change staff make outside mail (`helpdesk tickets set`). */
  staffChange: StaffChange;
  close(): void;
}

/** `dataDir` again is the same desk after a restart (on PostgreSQL, the same database). */
export function openTestDesk(files: Parameters<typeof writeConfigDir>[0] = {}, options: { dataDir?: string } = {}): TestDesk {
  const config = loadConfig(writeConfigDir(files));
  const dataDir = options.dataDir ?? tempDir('hd-data-');
  const bytesOf = (bytes: Buffer | string) => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  if (TEST_STORE === 'postgres') {
    // The time a call asks for, else the clock.
    let at: number | undefined;
    const transport = makeTransport(config.outgoing, dataDir);
    const { pg, view, close } = lazyPgTestDesk(() => openPgTestDesk({ dataDir, config: () => config, now: () => at ?? Date.now(), templates: loadTemplates(defaultTemplatesDir(), () => config), transport }));
    return {
      config,
      get store(): Store {
        return noSqliteStore();
      },
      view,
      dataDir,
      search: async (query, limit = 20) => (await pg()).search(query, limit),
      staffChange: async (...args) => (await pg()).staffChange(...args),
      ingest: async (bytes, options = {}) => {
        if (options.dnsResolver) throw new Error('a DNS resolver per message is not supported by the PostgreSQL test desk');
        at = options.now;
        try {
          return await (await pg()).ingest({ bytes: bytesOf(bytes), source: options.source ?? 'test', position: null, mailbox: options.mailbox ?? 'support' });
        } finally {
          at = undefined;
        }
      },
      close: () => void close(),
    };
  }
  const store = openStore(dataDir);
  return {
    config,
    store,
    view: sqliteView(store),
    dataDir,
    search: async (query, limit = 20) => searchTickets(store.db, config, query, limit),
    staffChange: (ticket, change, actor, at, reason) => applyStaffChange(store, config, ticket, change, actor, at, reason),
    // As the sources do, a result counts once a durability barrier covers it: the message's
    // raw and attachment files are on disk then (they are written in the background).
    ingest: async (bytes, options = {}) => {
      const result = await ingest(
        { bytes: bytesOf(bytes), source: options.source ?? 'test', position: null, mailbox: options.mailbox ?? 'support' },
        { config, store, log: silentLogger(), now: options.now === undefined ? undefined : () => options.now as number, dnsResolver: options.dnsResolver },
      );
      await store.durable();
      return result;
    },
    close: () => store.close(),
  };
}
