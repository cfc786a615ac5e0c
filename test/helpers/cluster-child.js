// A daemon's cluster part alone, for the SIGKILL tests in test/integration/cluster.test.ts:
// run from the built code (dist/, `npm run build`).
//   node cluster-child.js keep URL TTL_MS MAILBOX...   holds its share of the mailboxes' leases until killed
//   node cluster-child.js send URL SMTP_PORT           claims one due outbox row, sends it, prints SENT <id>, then waits to be killed before it commits
const path = require('node:path');
const { Pool } = require('pg');
const nodemailer = require('nodemailer');
const dist = path.resolve(__dirname, '../../dist');
const { leaseKeeper } = require(path.join(dist, 'cluster/lease-keeper'));
const { thisMember } = require(path.join(dist, 'cluster/members'));
const { sendOneClaimed } = require(path.join(dist, 'mail-out/pg-outbox-worker'));
const { silentLogger } = require(path.join(dist, 'lib/log'));

const [mode, url, arg, ...rest] = process.argv.slice(2);
const pool = new Pool({ connectionString: url });

if (mode === 'keep') {
  const member = thisMember();
  process.stdout.write(`MEMBER ${member.holder}\n`);
  const keeper = leaseKeeper({
    db: pool,
    member,
    mailboxes: () => rest,
    ttlMs: Number(arg),
    start: (mailbox) => process.stdout.write(`START ${mailbox}\n`),
    stop: (mailbox, why) => process.stdout.write(`STOP ${mailbox} ${why}\n`),
    log: silentLogger(),
  });
  keeper.start();
} else if (mode === 'send') {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: Number(arg), secure: false, ignoreTLS: true });
  void sendOneClaimed(pool, Date.now(), async (row) => {
    await transport.sendMail({ from: 'support@example.test', to: row.recipients, subject: row.subject, text: 'hello', messageId: row.messageId });
    process.stdout.write(`SENT ${row.id}\n`);
    await new Promise(() => undefined); // killed here: sent, never recorded
    return { sent: true, at: Date.now(), subject: row.subject, suggested: null };
  });
}
