import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { listLeases } from '../../src/cluster/leases';
import { sleep } from '../../src/lib/backoff';
import { count as imapCount, testClient } from '../harness/imap-client';
import { dynUser } from '../harness/dovecot';
import { useDovecot } from '../harness/use-dovecot';
import { usePostgres } from '../harness/use-postgres';
import { header, startSmtpSink, type SmtpSink } from '../harness/smtp-sink';
import { runCliAsync, spawnCli, waitFor } from '../helpers/cli';
import { tempDir, writeConfigDir } from '../helpers/env';
import { buildMail } from '../helpers/mail';
import { seededRandom, testSeed } from '../helpers/random';
import { startConfiguredDaemon } from '../../src/main';
import { collectingLogger, imapMailboxYaml } from '../helpers/daemon';
import { AGENTS, RULES } from '../helpers/smtp-desk';

/**
 * Issue #25, the cluster test: three daemons (the built `helpdesk start`, each its own process
 * and data folder) share one PostgreSQL, three Dovecot mailboxes and three Maildirs. A backlog arrives; one
 * daemon is SIGKILLed while its mailboxes are being drained (seeded: which daemon, how far in).
 * Its mailboxes are taken over within `cluster.leaseTtl`, every message is processed once, and
 * every notification reaches the SMTP server (at least once, the same Message-ID: a sender
 * killed between the server's answer and its commit sends again).
 */
const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end()));
});
const pg = usePostgres();
const dovecot = useDovecot();

const MAILBOXES = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'];
/** Read over IMAP from Dovecot; the others are Maildirs. */
const IMAP = new Set(['m1', 'm2', 'm3']);
const PER_MAILBOX = 60;
const TTL_MS = 4000;

test('three daemons on one PostgreSQL: one killed mid-drain, its mailboxes taken over within the lease TTL, every message processed once', async () => {
  const seed = testSeed();
  process.stdout.write(`pg daemons: seed ${seed}; HD_SEED=${seed} replays it\n`);
  const random = seededRandom(seed);
  const url = await pg().createDatabase('pg_daemons');
  const db = new Client({ connectionString: url });
  await db.connect();
  clients.push(db);
  const sink: SmtpSink = await startSmtpSink();
  const root = tempDir('hd-pg-daemons-');
  const dirs = Object.fromEntries(MAILBOXES.filter((m) => !IMAP.has(m)).map((m) => [m, path.join(root, 'maildirs', m)]));
  for (const dir of Object.values(dirs)) for (const sub of ['new', 'cur', 'tmp']) mkdirSync(path.join(dir, sub), { recursive: true });
  const users = Object.fromEntries([...IMAP].map((m) => [m, dynUser(`cluster-${m}`)]));
  const imap = Object.fromEntries(await Promise.all([...IMAP].map(async (m) => [m, await testClient(dovecot(), users[m])] as const)));
  const configDir = writeConfigDir({
    'helpdesk.yaml': `helpdesk: { name: Support, address: support@example.test, ticketPrefix: HD }
store: { postgres: { url: "${url}" } }
cluster: { leaseTtl: ${TTL_MS / 1000}s }
mailboxes:
${MAILBOXES.map((m) => (IMAP.has(m) ? imapMailboxYaml({ id: m, port: dovecot().imapPort, user: users[m], poll: '1s' }).trimEnd() : `  - { id: ${m}, maildir: "${dirs[m]}", pollInterval: 1s }`)).join('\n')}
outgoing: { smtp: { host: 127.0.0.1, port: ${sink.port}, secure: false } }
jobs: { backup: { enabled: false } }
`,
    'agents.yaml': AGENTS,
    'rules.yaml': RULES,
  });
  const daemons = [0, 1, 2].map((i) => {
    const d = spawnCli(['start', '--config', configDir, '--data', path.join(root, `data${i}`)], { env: { HELPDESK_LOG_LEVEL: 'warn' } });
    d.child.stdout?.resume();
    return d;
  });
  const logs = () => daemons.map((d, i) => `--- daemon ${i}\n${d.stderr().slice(-3000)}`).join('\n');
  try {
    const holders = async (): Promise<Map<string, string>> => {
      // Before the first daemon has migrated the database, nobody holds anything.
      if (!(await db.query("select to_regclass('mailbox_leases') as t")).rows[0].t) return new Map();
      const now = Number((await db.query<{ now: string }>('select (extract(epoch from clock_timestamp()) * 1000)::bigint as now')).rows[0].now);
      return new Map((await listLeases(db)).filter((l) => l.expiresAt > now).map((l) => [l.mailbox, l.holder]));
    };
    // Each daemon takes its fair share, two mailboxes.
    await waitFor(async () => {
      const held = await holders();
      const counts = [...held.values()].reduce((m, h) => m.set(h, (m.get(h) ?? 0) + 1), new Map<string, number>());
      return held.size === 6 && counts.size === 3 && [...counts.values()].every((n) => n === 2);
    }, 30_000, 'fair shares').catch((err: Error) => {
      throw new Error(`${err.message}\n${logs()}`);
    });

    // The backlog arrives: APPENDed to the IMAP inboxes; written to tmp/ and moved into new/
    // as an MTA delivers to a Maildir.
    let n = 0;
    const mail = (m: string, i: number) => buildMail({ from: `Customer ${m}-${i} <c-${m}-${i}@customer.test>`, subject: `Question ${i} to ${m}`, messageId: `<${m}-${i}@customer.test>`, body: `Hello from ${m}, message ${i}.` });
    await Promise.all(
      [...IMAP].map(async (m) => {
        for (let i = 0; i < PER_MAILBOX; i++) await imap[m].append('INBOX', mail(m, i));
      }),
    );
    for (const m of Object.keys(dirs)) {
      for (let i = 0; i < PER_MAILBOX; i++) {
        const name = `${Date.now()}.${n++}.test`;
        writeFileSync(path.join(dirs[m], 'tmp', name), mail(m, i));
        renameSync(path.join(dirs[m], 'tmp', name), path.join(dirs[m], 'new', name));
      }
    }

    // The victim: a seeded daemon, killed once a seeded part of its mailboxes' mail is in.
    const held = await holders();
    const victimHolder = [...new Set(held.values())].sort()[Math.floor(random() * 3)];
    const victimMailboxes = [...held].filter(([, h]) => h === victimHolder).map(([m]) => m);
    const pid = Number(victimHolder.split(':')[1]);
    const victim = daemons.find((d) => d.child.pid === pid);
    if (!victim) throw new Error(`no daemon with pid ${pid}`);
    const threshold = 5 + Math.floor(random() * (PER_MAILBOX / 2));
    const sources = victimMailboxes.map((m) => (IMAP.has(m) ? `imap:${m}` : `maildir:${m}`));
    const inVictims = async () => Number((await db.query<{ n: string }>('select count(*) as n from inbound where source = any($1)', [sources])).rows[0].n);
    await waitFor(async () => (await inVictims()) >= threshold, 60_000, 'the victim draining').catch((err: Error) => {
      throw new Error(`${err.message}\n${logs()}`);
    });
    const waiting = async (m: string) => (IMAP.has(m) ? imapCount(imap[m], 'INBOX') : readdirSync(path.join(dirs[m], 'new')).length);
    let left = 0;
    for (const m of victimMailboxes) left += await waiting(m);
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.exited;
    await waitFor(async () => {
      const now = await holders();
      return victimMailboxes.every((m) => now.has(m) && now.get(m) !== victimHolder);
    }, 3 * TTL_MS, 'takeover');
    const takeoverMs = Date.now() - killedAt;
    process.stdout.write(`pg daemons: killed ${victimHolder} (mailboxes ${victimMailboxes.join(', ')}) after ${threshold}+ of its messages, ${left} files still waiting; taken over in ${takeoverMs} ms (leaseTtl ${TTL_MS} ms)\n`);
    expect(left).toBeGreaterThan(0);
    expect(takeoverMs).toBeLessThanOrEqual(TTL_MS);

    // Everything drains: every message acknowledged (moved to Processed, or to cur/), every row sent.
    const total = MAILBOXES.length * PER_MAILBOX;
    const done = async (m: string) => (IMAP.has(m) ? (await imapCount(imap[m], 'INBOX')) === 0 && (await imapCount(imap[m], 'Processed')) === PER_MAILBOX : readdirSync(path.join(dirs[m], 'new')).length === 0 && readdirSync(path.join(dirs[m], 'cur')).length === PER_MAILBOX);
    await waitFor(async () => (await Promise.all(MAILBOXES.map(done))).every(Boolean), 120_000, 'every message acknowledged').catch((err: Error) => {
      throw new Error(`${err.message}\n${logs()}`);
    });
    // 720 notifications through two surviving daemons' outboxes and a real SMTP server: the
    // intake (faster since its statements are prepared) can finish well ahead of them.
    const acknowledgedAt = Date.now();
    await waitFor(async () => Number((await db.query<{ n: string }>("select count(*) as n from outbox where status = 'pending'")).rows[0].n) === 0, 120_000, 'the outbox drained');
    process.stdout.write(`pg daemons: outbox drained ${Date.now() - acknowledgedAt} ms after the last message was acknowledged\n`);

    // Processed once: one customer message and one ticket per mail; a file offered again
    // (the victim's batch in flight) is recorded as a duplicate, never as a second message.
    const count = async (q: string) => Number((await db.query<{ n: string }>(q)).rows[0].n);
    expect(await count("select count(*) as n from messages where direction = 'in'")).toBe(total);
    expect(await count("select count(distinct message_id) as n from messages where direction = 'in'")).toBe(total);
    expect(await count('select count(*) as n from tickets')).toBe(total);
    expect(await count("select count(*) as n from inbound where outcome = 'created'")).toBe(total);
    expect(await count("select count(*) as n from inbound where outcome not in ('created', 'duplicate')")).toBe(0);
    // Every notification sent: an acknowledgement and Ana's notice per ticket, each received.
    const rows = (await db.query<{ message_id: string; status: string }>('select message_id, status from outbox')).rows;
    expect(rows.length).toBe(2 * total);
    expect(rows.filter((r) => r.status !== 'sent')).toEqual([]);
    const received = sink.messages.map((m) => header(m, 'message-id') as string);
    const seen = new Set(received);
    expect(rows.filter((r) => !seen.has(r.message_id))).toEqual([]);
    // At least once, recognisably the same: a mail sent again has a Message-ID of a row, and
    // only a sender killed between the server's answer and its commit sends again.
    expect(received.length - seen.size).toBeLessThanOrEqual(1);

    // The status shows who holds what.
    const status = await runCliAsync(['status', '--json', '--config', configDir, '--data', path.join(root, 'data0')]);
    const report = JSON.parse(status.stdout) as Array<{ mailbox: string; holder: string | null; leaseAgeSeconds: number | null }>;
    const now = await holders();
    expect(report.map((r) => [r.mailbox, r.holder])).toEqual(MAILBOXES.map((m) => [m, now.get(m) ?? null]));
  } finally {
    for (const d of daemons) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGTERM');
    await Promise.all(daemons.map((d) => d.exited));
    await sink.close();
    for (const c of Object.values(imap)) await c.logout();
  }
  // The survivors stopped cleanly on SIGTERM, releasing their leases.
  expect(daemons.map((d) => d.child.exitCode).filter((c) => c !== null)).toEqual([0, 0]);
}, 240_000);

test('a daemon on PostgreSQL learns what staff move into the junk folder as spam, and out of it as ham', async () => {
  const url = await pg().createDatabase('pg_junk');
  const db = new Client({ connectionString: url });
  await db.connect();
  clients.push(db);
  const user = dynUser('cluster-junk');
  const seed = await testClient(dovecot(), user);
  await seed.append('INBOX', buildMail({ messageId: '<junk@c.test>', subject: 'Cheap watches' }));
  const configDir = writeConfigDir({
    'helpdesk.yaml': `helpdesk: { address: support@example.test }\nstore: { postgres: { url: "${url}" } }\ncluster: { leaseTtl: 3s }\nmailboxes:\n${imapMailboxYaml({ id: 'support', port: dovecot().imapPort, user, extra: '    junkScanInterval: 1s\n' })}`,
  });
  const { log, logs } = collectingLogger();
  const daemon = await startConfiguredDaemon({ configDir, dataDir: tempDir('hd-pg-junk-') }, log);
  const ticket = async () => (await db.query<{ status: string }>('select status from tickets')).rows.map((r) => r.status);
  const learnt = async () => (await db.query<{ label: string }>('select label from spam_learned')).rows.map((r) => r.label);
  const lastEvent = async () => (await db.query<{ actor: string; from_value: string; to_value: string; reason: string }>("select actor, from_value, to_value, reason from events where type = 'status_changed' order by id desc limit 1")).rows[0];
  try {
    await waitFor(async () => (await imapCount(seed, 'Processed')) === 1 || undefined, 15_000, 'processed');
    expect(await ticket()).toEqual(['new']);
    const lock = await seed.getMailboxLock('Processed');
    await seed.messageMove('1:*', 'Junk');
    lock.release();
    await waitFor(async () => (await ticket())[0] === 'spam' || undefined, 15_000, 'ticket marked spam');
    expect(await learnt()).toEqual(['spam']);
    expect(await lastEvent()).toEqual({ actor: 'junk-folder', from_value: 'new', to_value: 'spam', reason: 'moved to the junk folder by staff' });
    expect(logs.some((l) => l.msg === 'junk folder message' && l.learnt === 'learnt')).toBe(true);

    // Staff move it back to the inbox: ham again, the ticket reopened.
    const junk = await seed.getMailboxLock('Junk');
    await seed.messageMove('1:*', 'INBOX');
    junk.release();
    await waitFor(async () => (await ticket())[0] === 'new' || undefined, 15_000, 'ticket reopened');
    expect(await learnt()).toEqual(['ham']);
    expect(await lastEvent()).toEqual({ actor: 'junk-folder', from_value: 'spam', to_value: 'new', reason: 'moved out of the junk folder by staff' });
    expect(await ticket()).toHaveLength(1);
  } finally {
    await daemon.stop();
    await seed.logout();
  }
}, 60_000);

test('PostgreSQL ends every connection of a draining daemon again and again (restarts, fail-overs, an outage longer than a lease): it keeps running and every message is processed once', async () => {
  const seed = testSeed();
  process.stdout.write(`pg daemons, connections ended: seed ${seed}; HD_SEED=${seed} replays it\n`);
  const random = seededRandom(seed);
  const url = await pg().createDatabase('pg_ended');
  const db = new Client({ connectionString: url });
  await db.connect();
  clients.push(db);
  const ours = (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0].pid;
  // On another database: one may not refuse connections to the database one is connected to.
  const admin = new Client({ connectionString: url.replace(/\/pg_ended$/, '/postgres') });
  await admin.connect();
  clients.push(admin);
  const sink: SmtpSink = await startSmtpSink();
  const root = tempDir('hd-pg-ended-');
  const boxes = ['e1', 'e2'];
  const per = 40;
  const dir = (m: string) => path.join(root, 'maildirs', m);
  for (const m of boxes) for (const sub of ['new', 'cur', 'tmp']) mkdirSync(path.join(dir(m), sub), { recursive: true });
  for (const m of boxes) {
    for (let i = 0; i < per; i++) {
      const name = `${Date.now()}.${m}.${i}.test`;
      writeFileSync(path.join(dir(m), 'tmp', name), buildMail({ from: `c-${m}-${i}@customer.test`, subject: `Question ${i} to ${m}`, messageId: `<ended-${m}-${i}@customer.test>`, body: 'Hello' }));
      renameSync(path.join(dir(m), 'tmp', name), path.join(dir(m), 'new', name));
    }
  }
  const configDir = writeConfigDir({
    'helpdesk.yaml': `helpdesk: { name: Support, address: support@example.test, ticketPrefix: HD }
store: { postgres: { url: "${url}" } }
cluster: { leaseTtl: ${TTL_MS / 1000}s }
mailboxes:
${boxes.map((m) => `  - { id: ${m}, maildir: "${dir(m)}", pollInterval: 1s }`).join('\n')}
outgoing: { smtp: { host: 127.0.0.1, port: ${sink.port}, secure: false } }
jobs: { backup: { enabled: false } }
`,
    'agents.yaml': AGENTS,
    'rules.yaml': RULES,
  });
  const daemon = spawnCli(['start', '--config', configDir, '--data', path.join(root, 'data')], { env: { HELPDESK_LOG_LEVEL: 'warn' } });
  daemon.child.stdout?.resume();
  const count = async (q: string) => Number((await db.query<{ n: string }>(q)).rows[0].n);
  const inbound = () => count("select count(*) as n from inbound where to_regclass('inbound') is not null").catch(() => 0);
  try {
    // Three times, once a seeded share of the mail is in: every connection of the daemon ended at once.
    const ENDINGS = 3;
    const OUTAGE_MS = 1.5 * TTL_MS;
    let back = 0;
    for (let e = 1; e <= ENDINGS; e++) {
      const at = Math.max(5, Math.floor(((e - 1 + random()) / ENDINGS) * boxes.length * per * 0.8));
      await waitFor(async () => (await inbound()) >= at, 60_000, `${at} messages in`).catch((err: Error) => {
        throw new Error(`${err.message}\n${daemon.stderr().slice(-3000)}`);
      });
      // The last time the database stays away longer than a lease (an outage): new connections refused.
      const outage = e === ENDINGS;
      if (outage) await admin.query('alter database pg_ended allow_connections false');
      const ended = await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = 'pg_ended' and pid <> $1", [ours]);
      process.stdout.write(`pg daemons, connections ended: ${ended.rowCount} connections at ${at}+ messages in${outage ? `, then none accepted for ${OUTAGE_MS} ms` : ''}\n`);
      if (outage) {
        await sleep(OUTAGE_MS);
        await admin.query('alter database pg_ended allow_connections true');
        back = Date.now();
      }
    }
    const done = (m: string) => readdirSync(path.join(dir(m), 'new')).length === 0 && readdirSync(path.join(dir(m), 'cur')).length === per;
    await waitFor(() => boxes.every(done), 120_000, 'every message acknowledged').catch((err: Error) => {
      throw new Error(`${err.message}\n${daemon.stderr().slice(-3000)}`);
    });
    const acknowledged = Date.now() - back;
    await waitFor(async () => (await count("select count(*) as n from outbox where status = 'pending'")) === 0, 120_000, 'the outbox drained');
    process.stdout.write(`pg daemons, connections ended: after the outage, every message acknowledged in ${acknowledged} ms, the outbox drained in ${Date.now() - back} ms\n`);
    expect(daemon.child.exitCode).toBeNull();
    const total = boxes.length * per;
    expect(await count("select count(*) as n from messages where direction = 'in'")).toBe(total);
    expect(await count('select count(*) as n from tickets')).toBe(total);
    expect(await count("select count(*) as n from inbound where outcome not in ('created', 'duplicate')")).toBe(0);
    const rows = (await db.query<{ message_id: string; status: string }>('select message_id, status from outbox')).rows;
    expect(rows.length).toBe(2 * total);
    expect(rows.filter((r) => r.status !== 'sent')).toEqual([]);
    const received = new Set(sink.messages.map((m) => header(m, 'message-id') as string));
    expect(rows.filter((r) => !received.has(r.message_id))).toEqual([]);
  } finally {
    if (daemon.child.exitCode === null) daemon.child.kill('SIGTERM');
    await daemon.exited;
    await sink.close();
  }
  expect(daemon.child.exitCode).toBe(0);
}, 180_000);
