import { drizzle } from 'drizzle-orm/node-postgres';
import type { Pool } from 'pg';
import { leaseKeeper, type LeaseKeeper } from './cluster/lease-keeper';
import type { Config } from './config/schema';
import { watchConfig, type LiveConfig } from './config/watch';
import { createIntake, type Intake } from './intake/intake';
import { pgIntakeStore } from './intake/pg-intake-store';
import { startClusterScheduler } from './jobs/cluster-scheduler';
import { answersFor } from './knowledge/answers';
import type { Logger } from './lib/log';
import type { Locations } from './locations';
import type { Source } from './mail-in/source';
import { sourceFor } from './mail-in/sources';
import { alertAdmins, mailboxAlertPlan } from './mail-out/alerts';
import type { OutboxWorker } from './mail-out/outbox-worker';
import { pgOutboxWorker } from './mail-out/pg-outbox-worker';
import { loadTemplates, templatesDir } from './mail-out/templates';
import { makeTransport } from './mail-out/transport';
import { learnJunkFound, learnMovedOutOfJunk } from './spam/junk-folder';
import type { DeskCopyHeld } from './pipeline/types';
import { pgJunkStore } from './store/pg/junk';
import { pgMailboxState } from './store/pg/mailbox-state';
import { openPgPool, pgTimeouts } from './store/pg/pool';
import * as schema from './store/pg/schema';
import { inPgTransaction } from './store/pg/transaction';
import { pgWrites } from './store/pg/writes';
import { runPlanAsync } from './store/writes';
import { withoutPassword } from './store/pg/url';
import type { Lease } from './cluster/leases';
import { thisMember } from './cluster/members';

export interface ClusterDaemon {
  config: LiveConfig;
  pool: Pool;
  leases: LeaseKeeper;
  outbox: OutboxWorker;
  stop(): Promise<void>;
}

/** What does not run on PostgreSQL yet (docs/CLUSTER.md), said once at start. */
const NOT_YET = 'the backup job (use PostgreSQL\'s own backups: pg_dump, WAL archiving)';

/**
 * The composition root of a daemon on PostgreSQL (`store.postgres`, docs/CLUSTER.md): one of
 * several sharing the database. The lease keeper decides which mailboxes this daemon reads;
 * each source it starts writes through the intake under that mailbox's lease (a batch commits
 * only while the lease is held), and the outbox worker claims rows that any daemon enqueued.
 */
/** `url`: the configuration's `store.postgres.url`. */
export async function startClusterDaemon(where: Locations, config: Config, url: string, log: Logger): Promise<ClusterDaemon> {
  // Connections for the open batches (and their new contacts), the lease keeper, the outbox and the sources' state.
  const pool = await openPgPool(url, log, config.mailboxes.length + 5, pgTimeouts(config.limits.processingTime));
  const live = watchConfig(where.configDir, config, log);
  const templates = loadTemplates(templatesDir(config), live.current, { log: log.child({ component: 'templates' }), watch: true });
  const transport = makeTransport(config.outgoing, where.dataDir);
  const outbox = pgOutboxWorker({ pool, config: live.current, templates, transport, log: log.child({ component: 'outbox' }) });
  const intake = createIntake({ store: pgIntakeStore(pool, log.child({ component: 'intake' })), config: live.current, log, onDurable: () => outbox.wake(), answers: () => answersFor(live.current()) });
  const state = pgMailboxState(drizzle(pool, { schema }));
  // From the source of the mailbox's current holder: a mailbox taken over counts its failures afresh.
  const alert = alertAdmins((incident) => inPgTransaction(pool, (db) => runPlanAsync(mailboxAlertPlan(live.current(), incident, Date.now()), pgWrites(db))), log, () => outbox.wake());
  // Staff's moves into and out of the junk folder, each learnt in a transaction of its own.
  const junkLearning = config.jobs.junkLearning.enabled
    ? {
        learnJunk: (bytes: Buffer, deskCopyHeld?: DeskCopyHeld) => learnJunkFound((work) => inPgTransaction(pool, (db) => work(pgJunkStore(db))), bytes, Date.now(), deskCopyHeld),
        onDuplicate: (bytes: Buffer, source: string, position: string) => inPgTransaction(pool, (db) => learnMovedOutOfJunk(pgJunkStore(db), bytes, source, position, Date.now())),
      }
    : {};
  const reading = new Map<string, Source>();
  const member = thisMember();
  const leases = leaseKeeper({
    db: pool,
    member,
    mailboxes: () => live.current().mailboxes.map((m) => m.id),
    ttlMs: config.cluster.leaseTtl,
    log: log.child({ component: 'cluster' }),
    start(id, lease) {
      const mailbox = live.current().mailboxes.find((m) => m.id === id);
      const source = mailbox ? sourceFor(mailbox, { config: live.current(), dataDir: where.dataDir, state, log, onUnhealthy: alert, ...junkLearning }) : null;
      if (!source) return;
      reading.set(id, source);
      // Not awaited: the first pass over a backlog must not hold up the keeper's renewals.
      source.start(underLease(intake, lease)).catch((err: unknown) => log.error({ err, mailbox: id }, 'source failed to start'));
    },
    async stop(id) {
      const source = reading.get(id);
      reading.delete(id);
      await source?.stop();
    },
  });
  leases.start();
  const jobs = startClusterScheduler({ pool, config: live.current, log: log.child({ component: 'jobs' }), holder: member.holder, onEnqueued: () => outbox.wake() });
  log.info({ config: where.configDir, data: where.dataDir, store: withoutPassword(url), holder: member.holder, mailboxes: config.mailboxes.map((m) => m.id), outgoing: transport.describe }, 'helpdesk starting on PostgreSQL');
  log.warn({ notYet: NOT_YET }, 'not run by a daemon on PostgreSQL yet (docs/CLUSTER.md)');
  let stopped: Promise<void> | null = null;
  return {
    config: live,
    pool,
    leases,
    outbox,
    stop() {
      stopped ??= (async () => {
        live.close();
        templates.close();
        // Stops every source (each finishes its batch), releases the leases: others take them at once.
        await leases.stop();
        await jobs.stop();
        await intake.close();
        await outbox.stop();
        await pool.end();
        log.info('helpdesk stopped');
      })();
      return stopped;
    },
  };
}

/** The intake as a source under `lease` sees it: each of its batches fenced by the lease. */
function underLease(intake: Intake, lease: Lease): Intake {
  return {
    run: (deliveries, hooks) => intake.run(deliveries, { ...hooks, lease }),
    // The intake is the daemon's; it closes it.
    close: () => Promise.resolve(),
  };
}
