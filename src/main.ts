import { answersFor } from './knowledge/answers';
import path from 'node:path';
import { movedDataPath, type Locations } from './locations';
import { ConfigError, loadConfig } from './config/load';
import { watchConfig, type LiveConfig } from './config/watch';
import type { Logger } from './lib/log';
import { learnJunkFound, learnMovedOutOfJunk, sqliteJunkStore } from './spam/junk-folder';
import { sourceFor } from './mail-in/sources';
import { startScheduler, type Scheduler } from './jobs/scheduler';
import { alertAdmins, enqueueMailboxAlert } from './mail-out/alerts';
import { outboxWorker, type OutboxWorker } from './mail-out/outbox-worker';
import { loadTemplates, templatesDir } from './mail-out/templates';
import { makeTransport } from './mail-out/transport';
import type { Source } from './mail-in/source';
import { createIntake } from './intake/intake';
import { sqliteIntakeStore } from './intake/intake-store';
import { mailboxStateStore } from './store/mailbox-state';
import { openStore, type Store } from './store/open';

export interface Daemon {
  config: LiveConfig;
  store: Store;
  sources: Source[];
  outbox: OutboxWorker;
  jobs: Scheduler;
  stop(): Promise<void>;
}

/**
 * The daemon the configuration asks for: on the SQLite file in --data, or, with
 * `store.postgres`, one of several sharing a PostgreSQL (cluster-main.ts, loaded only then).
 */
export async function startConfiguredDaemon(where: Locations, log: Logger): Promise<{ stop(): Promise<void> }> {
  const config = loadConfig(where.configDir);
  if (!config.store.postgres) return startDaemon(where, log, config);
  const { startClusterDaemon } = await import('./cluster-main');
  return startClusterDaemon(where, config, config.store.postgres.url, log);
}

/**
 * The composition root (STYLE 4): builds config, store, the one intake and one source per
 * mailbox feeding it. Nothing below this file reads globals.
 */
export async function startDaemon(where: Locations, log: Logger, config = loadConfig(where.configDir)): Promise<Daemon> {
  // A desk upgraded from when relative paths followed the working directory: refuse to start
  // rather than watch an empty Maildir while the mail waits in the old one.
  const moved = [
    ...config.mailboxes.map((m, i) => (m.maildir ? movedDataPath(where.dataDir, `mailboxes[${i}].maildir`, m.maildir) : null)),
    config.outgoing.directory ? movedDataPath(where.dataDir, 'outgoing.directory', config.outgoing.directory) : null,
  ].filter((m): m is string => m !== null);
  if (moved.length > 0) throw new ConfigError(moved.map((message) => ({ file: path.join(where.configDir, 'helpdesk.yaml'), line: null, column: null, message })));
  // Before each write turn, a piped `helpdesk ingest` that asked for the store gets it first (up to 2 s).
  const store = openStore(where.dataDir, { yieldToOthersMs: 2000 });
  const live = watchConfig(where.configDir, config, log);
  const templates = loadTemplates(templatesDir(config), live.current, { log: log.child({ component: 'templates' }), watch: true });
  const transport = makeTransport(config.outgoing, where.dataDir);
  const outbox = outboxWorker({ store, config: live.current, templates, transport, log: log.child({ component: 'outbox' }) });
  // The canned answers of `#answer`, re-read when their files change (at most once a second, on use).
  const intake = createIntake({ store: sqliteIntakeStore(store), config: live.current, log, onDurable: () => outbox.wake(), answers: () => answersFor(live.current()) });
  const alert = alertAdmins((incident) => store.turn(() => enqueueMailboxAlert(store, live.current(), incident, Date.now())), log, () => outbox.wake());
  const state = mailboxStateStore(store.db);
  const junk = config.jobs.junkLearning.enabled;
  const sources = config.mailboxes
    .map((mailbox) =>
      sourceFor(mailbox, {
        config,
        dataDir: where.dataDir,
        state,
        log,
        onUnhealthy: alert,
        learnJunk: junk ? (bytes, deskCopyHeld) => learnJunkFound((work) => store.turn(() => work(sqliteJunkStore(store))), bytes, Date.now(), deskCopyHeld) : undefined,
        onDuplicate: junk ? (bytes, source, position) => store.turn(() => learnMovedOutOfJunk(sqliteJunkStore(store), bytes, source, position, Date.now())) : undefined,
      }),
    )
    .filter((s): s is Source => s !== null);
  log.info({ config: where.configDir, data: where.dataDir, mailboxes: sources.map((s) => s.id), outgoing: transport.describe }, 'helpdesk starting');
  // One failing source never stops the others: each start is awaited on its own.
  await Promise.all(sources.map((s) => s.start(intake).catch((err) => log.error({ err, mailbox: s.id }, 'source failed to start'))));
  const jobs = startScheduler(store, live.current, log.child({ component: 'jobs' }), { onEnqueued: () => outbox.wake() });
  let stopped: Promise<void> | null = null;
  return {
    config: live,
    store,
    sources,
    outbox,
    jobs,
    stop() {
      stopped ??= (async () => {
        live.close();
        templates.close();
        await Promise.all(sources.map((s) => s.stop()));
        await intake.close();
        await jobs.stop();
        await outbox.stop();
        store.close();
        log.info('helpdesk stopped');
      })();
      return stopped;
    },
  };
}
