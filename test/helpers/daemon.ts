import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from '../../src/lib/log';
import { drizzle } from 'drizzle-orm/node-postgres';
import { Pool } from 'pg';
import { startConfiguredDaemon, startDaemon, type Daemon } from '../../src/main';
import { sqliteView, type DeskView } from '../../src/store/desk-view';
import * as schema from '../../src/store/pg/schema';
import { pgView } from '../../src/store/pg/views';
import { noSqliteStore, TEST_STORE, testDatabaseUrl } from './test-store';
import { tempDir, writeConfigDir } from './env';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A logger whose lines are collected in `logs`, parsed. */
export function collectingLogger(): { log: Logger; logs: LogLine[] } {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), logs };
}

export interface TestDaemon {
  /** The SQLite daemon's parts (its store, sources, outbox); a test reading them runs on SQLite only. */
  daemon: Daemon;
  /** What staff read of the desk, from whichever store the daemon runs on. */
  view: DeskView;
  logs: LogLine[];
  dataDir: string;
  configDir: string;
  stop(): Promise<void>;
}

/**
 * The daemon in this process, on a fresh data dir, with its log lines collected: on SQLite, or
 * with HELPDESK_TEST_STORE=postgres on a PostgreSQL database of its own (the daemon of
 * cluster-main.ts, as `helpdesk start` runs it for `store.postgres`).
 */
export async function startTestDaemon(helpdeskYaml: string): Promise<TestDaemon> {
  const dataDir = tempDir('hd-daemon-');
  const store = TEST_STORE === 'postgres' ? `store: { postgres: { url: "${await testDatabaseUrl(dataDir)}" } }\n` : '';
  return startAt(writeConfigDir({ 'helpdesk.yaml': `${helpdeskYaml.trimEnd()}\n${store}` }), dataDir);
}

/** A daemon started again on a stopped one's configuration and data (and database): a restart. */
export function restartTestDaemon(stopped: TestDaemon): Promise<TestDaemon> {
  return startAt(stopped.configDir, stopped.dataDir);
}

async function startAt(configDir: string, dataDir: string): Promise<TestDaemon> {
  const { log, logs } = collectingLogger();
  if (TEST_STORE === 'postgres') {
    const running = await startConfiguredDaemon({ configDir, dataDir }, log);
    const pool = new Pool({ connectionString: await testDatabaseUrl(dataDir), max: 2 });
    return {
      get daemon(): Daemon {
        return noSqliteStore();
      },
      view: pgView(drizzle(pool, { schema })),
      logs,
      dataDir,
      configDir,
      async stop() {
        await running.stop();
        await pool.end();
      },
    };
  }
  const daemon = await startDaemon({ configDir, dataDir }, log);
  return { daemon, view: sqliteView(daemon.store), logs, dataDir, configDir, stop: () => daemon.stop() };
}

export function imapMailboxYaml(m: { id: string; port: number; user: string; pass?: string; ack?: string; inbox?: string; poll?: string; extra?: string }): string {
  return `  - id: ${m.id}
    imap: { host: 127.0.0.1, port: ${m.port}, secure: false, user: "${m.user}", pass: "${m.pass ?? 'test'}" }
    ack: ${m.ack ?? 'move'}
    pollInterval: ${m.poll ?? '1h'}
    folders: { inbox: ${m.inbox ?? 'INBOX'} }
${m.extra ?? ''}`;
}
