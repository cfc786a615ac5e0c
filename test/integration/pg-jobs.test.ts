import { startClusterScheduler } from '../../src/jobs/cluster-scheduler';
import { silentLogger } from '../../src/lib/log';
import { getValue } from '../../src/store/key-value';
import { usePostgres } from '../harness/use-postgres';
import { buildMail } from '../helpers/mail';
import { passOver, pgIntakeDesk } from '../helpers/pg-intake';
import { smtpDesks } from '../helpers/smtp-desk';

/**
 * Issue #25: a scheduled job runs once across the cluster per tick. Two daemons' schedulers
 * share one PostgreSQL; both fire for the same auto-close tick; one claims and runs it.
 */
const closing: Array<() => Promise<void>> = [];
// Declared before the server's own afterAll, so the pools close before PostgreSQL stops.
afterAll(async () => {
  for (const close of closing) await close();
});
const pg = usePostgres();
const fx = smtpDesks();

test('two daemons fire the same auto-close tick: one runs it, each resolved ticket is closed once', async () => {
  const d = fx.open();
  const desk = await pgIntakeDesk(await pg().createDatabase('pg_jobs'), () => d.config, { secret: getValue(d.store.db, 'message_id_secret') ?? undefined });
  closing.push(() => desk.close());
  const raws = [1, 2, 3, 4].map((i) => ({ bytes: buildMail({ messageId: `<job${i}@customer.test>`, from: `c${i}@customer.test`, subject: `Question ${i}` }), source: 'test', position: String(i), mailbox: 'support' }));
  expect((await passOver(desk.intake, raws)).failure).toBeNull();
  const now = Date.now();
  // Three resolved long ago, one just now (after the cut-off: kept).
  await desk.admin.query("update tickets set status = 'resolved', resolved_at = $1 where ref in ('HD-1', 'HD-2', 'HD-3')", [now - 30 * 86_400_000]);
  await desk.admin.query("update tickets set status = 'resolved', resolved_at = $1 where ref = 'HD-4'", [now]);
  const schedulers = ['daemon-a', 'daemon-b'].map((holder) => startClusterScheduler({ pool: desk.pool, config: () => d.config, log: silentLogger(), holder }));
  try {
    const outcomes = await Promise.all(schedulers.map((s) => s.tick('autoClose', now)));
    expect(outcomes.filter((o) => o === 'skipped')).toHaveLength(1);
    expect(outcomes.find((o) => o !== 'skipped')).toEqual({ closed: 3 });
    // The next tick finds nothing left to close.
    expect(await schedulers[1].tick('autoClose', now + 60 * 60_000)).toEqual({ closed: 0 });
  } finally {
    await Promise.all(schedulers.map((s) => s.stop()));
  }
  const rows = await desk.admin.query<{ ref: string; status: string }>('select ref, status from tickets order by id');
  expect(rows.rows).toEqual([
    { ref: 'HD-1', status: 'closed' },
    { ref: 'HD-2', status: 'closed' },
    { ref: 'HD-3', status: 'closed' },
    { ref: 'HD-4', status: 'resolved' },
  ]);
  const events = await desk.admin.query<{ n: number }>("select count(*)::int as n from events where type = 'status_changed' and to_value = 'closed'");
  expect(events.rows[0].n).toBe(3);
}, 60_000);
