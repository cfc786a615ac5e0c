import { answersFor } from './knowledge/answers';
import path from 'node:path';
import { inDataDir, movedDataPath, type Locations } from './locations';
import { ConfigError, loadConfig } from './config/load';
import { watchConfig, type LiveConfig } from './config/watch';
import type { Logger } from './lib/log';
import { imapSource } from './mail-in/imap';
import { learnJunkMessage, learnMovedOutOfJunk } from './spam/correct';
import { maildirSource } from './mail-in/maildir';
import { startScheduler, type Scheduler } from './jobs/scheduler';
import { enqueueMailboxAlert } from './mail-out/alerts';
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
 * The composition root (STYLE 4): builds config, store, the one intake and one source per
 * mailbox feeding it. Nothing below this file reads globals.
 */
export async function startDaemon(where: Locations, log: Logger): Promise<Daemon> {
  const config = loadConfig(where.configDir);
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
  const alert = (incident: { mailbox: string; since: number; error: string }) => {
    void store
      .turn(() => enqueueMailboxAlert(store, live.current(), incident, Date.now()))
      .then((n) => {
        log.info({ mailbox: incident.mailbox, admins: n }, 'unhealthy-mailbox alert queued');
        outbox.wake();
      })
      .catch((err: unknown) => log.error({ err, mailbox: incident.mailbox }, 'cannot queue the unhealthy-mailbox alert'));
  };
  const state = mailboxStateStore(store.db);
  const sources: Source[] = [];
  for (const mailbox of config.mailboxes) {
    const mlog = log.child({ mailbox: mailbox.id });
    if (mailbox.imap) {
      sources.push(
        imapSource({
          mailbox: { ...mailbox, imap: mailbox.imap },
          state,
          log: mlog,
          alertAfterMs: config.health.alertAfter,
          onUnhealthy: alert,
          learnJunk: config.jobs.junkLearning.enabled ? (bytes) => store.turn(() => learnJunkMessage(store, bytes, Date.now())) : undefined,
          onDuplicate: config.jobs.junkLearning.enabled ? (bytes, source, position) => store.turn(() => learnMovedOutOfJunk(store, bytes, source, position, Date.now())) : undefined,
          junkScanEveryMs: mailbox.junkScanInterval,
          maxMessageSize: config.limits.maxMessageSize,
        }),
      );
    } else if (mailbox.maildir) {
      sources.push(maildirSource({ id: mailbox.id, dir: inDataDir(where.dataDir, mailbox.maildir), pollIntervalMs: mailbox.pollInterval, state, log: mlog, maxMessageSize: config.limits.maxMessageSize }));
    }
  }
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
