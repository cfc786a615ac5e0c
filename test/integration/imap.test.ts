import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { count, staffMove, testClient } from '../harness/imap-client';
import { DYN_DOMAIN, dynUser, startDovecot } from '../harness/dovecot';
import { useDovecot } from '../harness/use-dovecot';
import { waitFor } from '../helpers/cli';
import { imapMailboxYaml, restartTestDaemon, startTestDaemon } from '../helpers/daemon';
import { removeTempDirs } from '../helpers/env';
import { sqliteOnly } from '../helpers/test-store';
import { buildMail } from '../helpers/mail';

const dovecot = useDovecot();
afterAll(() => removeTempDirs());

const header = 'helpdesk: { address: support@example.test }\nmailboxes:\n';

type Seed = Awaited<ReturnType<typeof testClient>>;

/**
 * A daemon on a fresh Dovecot user whose junk folder it looks at every second, started once
 * `place` has put the user's mail where the test wants it; `config` goes before the mailbox.
 */
async function junkDesk(place: (seed: Seed) => Promise<unknown>, config = '', ack = 'move') {
  const user = dynUser();
  const seed = await testClient(dovecot(), user);
  await place(seed);
  const daemon = await startTestDaemon(config + header + imapMailboxYaml({ id: 'support', port: dovecot().imapPort, user, ack, extra: '    junkScanInterval: 1s\n' }));
  // Not spread: on PostgreSQL `daemon.daemon` throws when read.
  return { seed, daemon, view: daemon.view, logs: daemon.logs, stop: daemon.stop };
}

describe('IMAP source against a real Dovecot', () => {
  it('turns an APPENDed message into a ticket, moves it to Processed, and threads a later reply (IDLE)', async () => {
    const user = dynUser();
    const seed = await testClient(dovecot(), user);
    await seed.append('INBOX', buildMail({ messageId: '<first@c.test>', subject: 'Printer' }));
    const { view, stop } = await startTestDaemon(header + imapMailboxYaml({ id: 'support', port: dovecot().imapPort, user }));
    try {
      await waitFor(async () => (await view.listTickets()).length === 1, 15_000, 'first ticket');
      await waitFor(async () => (await view.mailboxState('support'))?.state === 'idle' || undefined, 5000, 'idle');
      await new Promise((r) => setTimeout(r, 1000));
      // The reply arrives while the daemon idles; pollInterval is an hour, so only IDLE can see it.
      await seed.append('INBOX', buildMail({ messageId: '<second@c.test>', inReplyTo: '<first@c.test>', subject: 'Re: Printer' }));
      await waitFor(async () => (await view.showTicket('HD-1'))?.messages.length === 2, 15_000, 'reply threaded');
      await waitFor(async () => (await count(seed, 'Processed')) === 2 || undefined, 15_000, 'both moved');
      expect(await count(seed, 'INBOX')).toBe(0);
      expect(await count(seed, 'Processed')).toBe(2);
      expect((await view.showTicket('HD-1'))?.messages.map((m) => m.threadedBy)).toEqual(['new', 'in-reply-to']);
    } finally {
      await stop();
      await seed.logout();
    }
  });

  it('streams a message over limits.maxMessageSize from the server into the store, quarantines it, and goes on', async () => {
    const user = dynUser();
    const seed = await testClient(dovecot(), user);
    const big = Buffer.concat([buildMail({ messageId: '<big@c.test>' }), Buffer.alloc(3 * 1024 * 1024, 'A'), Buffer.from('\r\n')]);
    await seed.append('INBOX', big);
    await seed.append('INBOX', buildMail({ messageId: '<small@c.test>', from: 'small@c.test' }));
    const { view, stop } = await startTestDaemon(`helpdesk: { address: support@example.test }\nlimits: { maxMessageSize: 1MB }\nmailboxes:\n${imapMailboxYaml({ id: 'support', port: dovecot().imapPort, user })}`);
    try {
      await waitFor(async () => (await count(seed, 'Quarantine')) === 1 && (await count(seed, 'Processed')) === 1 || undefined, 20_000, 'both acknowledged');
      const [row] = (await view.listInbound({ outcome: 'quarantined' }));
      expect(row.reason).toMatch(/over limits\.maxMessageSize \(1048576 bytes\)/);
      expect((await view.readFile(row.rawPath as string))?.equals(big)).toBe(true);
      expect(await view.listTickets()).toHaveLength(1);
    } finally {
      await stop();
      await seed.logout();
    }
  });

  it('sees each message of a series that arrives while the previous one is acknowledged (no lost wake-up)', async () => {
    const user = dynUser();
    const seed = await testClient(dovecot(), user);
    const { view, stop } = await startTestDaemon(header + imapMailboxYaml({ id: 'support', port: dovecot().imapPort, user }));
    try {
      await waitFor(async () => (await view.mailboxState('support'))?.state === 'idle' || undefined, 10_000, 'idle');
      // Each message arrives the moment the previous one is committed, i.e. while the daemon
      // is still acknowledging it: the EXISTS then comes with the answer to a command.
      for (let i = 0; i < 30; i++) {
        await seed.append('INBOX', buildMail({ messageId: `<series-${i}@c.test>`, from: `s${i}@c.test` }));
        await waitFor(async () => (await view.listTickets()).length === i + 1 || undefined, 5_000, `ticket ${i + 1}`);
      }
    } finally {
      await stop();
      await seed.logout();
    }
  });

  it('reconnects after Dovecot restarts and processes what arrived meanwhile, nothing lost or doubled', async () => {
    const own = await startDovecot();
    const user = dynUser();
    const seed = await testClient(own, user);
    await seed.append('INBOX', buildMail({ messageId: '<before@c.test>', subject: 'before' }));
    await seed.logout();
    const { view, logs, stop } = await startTestDaemon(header + imapMailboxYaml({ id: 'support', port: own.imapPort, user, poll: '2s' }));
    try {
      await waitFor(async () => (await view.listTickets()).length === 1, 15_000, 'first ticket');
      await own.restart();
      // Delivered while the daemon's connection was down: dropped straight into the Maildir.
      const newDir = path.join(own.dir, 'mail', 'dyn.example.test', user.split('@')[0], 'Maildir', 'new');
      mkdirSync(newDir, { recursive: true });
      for (let i = 0; i < 3; i++) writeFileSync(path.join(newDir, `${Date.now()}.${i}.test`), buildMail({ messageId: `<during-${i}@c.test>`, subject: `during ${i}`, from: `p${i}@c.test` }));
      await waitFor(async () => (await view.listTickets()).length === 4, 30_000, 'tickets after restart');
      expect(logs.some((l) => l.msg === 'imap session failed; reconnecting')).toBe(true);
      const inbound = (await view.listInbound({ limit: 100 }));
      expect(inbound.filter((r) => r.outcome === 'created')).toHaveLength(4);
      const check = await testClient(own, user);
      await waitFor(async () => (await count(check, 'Processed')) === 4 || undefined, 15_000, 'all acknowledged');
      expect(await count(check, 'INBOX')).toBe(0);
      await check.logout();
    } finally {
      await stop();
      await own.stop();
    }
  });

  it('does not duplicate anything when UIDVALIDITY changes (folder recreated with the same messages)', async () => {
    const user = dynUser();
    const seed = await testClient(dovecot(), user);
    await seed.mailboxCreate('Support');
    const mails = [1, 2, 3].map((i) => buildMail({ messageId: `<uv-${i}@c.test>`, subject: `uv ${i}`, from: `u${i}@c.test` }));
    for (const m of mails) await seed.append('Support', m);
    const yaml = header + imapMailboxYaml({ id: 'support', port: dovecot().imapPort, user, ack: 'flag', inbox: 'Support' });
    const first = await startTestDaemon(yaml);
    await waitFor(async () => (await first.view.listTickets()).length === 3, 15_000, 'three tickets');
    const before = (await first.view.mailboxState('support'))?.uidValidity;
    await first.stop();

    await seed.mailboxDelete('Support');
    await new Promise((r) => setTimeout(r, 1100)); // UIDVALIDITY is time-based
    await seed.mailboxCreate('Support');
    for (const m of mails) await seed.append('Support', m);

    const again = await restartTestDaemon(first);
    try {
      await waitFor(async () => (await again.view.listInbound({ outcome: 'duplicate' })).length === 3, 15_000, 'three duplicates');
      expect((await again.view.mailboxState('support'))?.uidValidity).not.toBe(before);
      expect(await again.view.listTickets()).toHaveLength(3);
    } finally {
      await again.stop();
      await seed.logout();
    }
  });

  it('keeps one mailbox working when another has wrong credentials, logging the error and retrying', async () => {
    const good = dynUser('good');
    const seed = await testClient(dovecot(), good);
    await seed.append('INBOX', buildMail({ messageId: '<g@c.test>' }));
    const yaml = header + imapMailboxYaml({ id: 'bad', port: dovecot().imapPort, user: 'support@example.test', pass: 'wrong' }) + imapMailboxYaml({ id: 'good', port: dovecot().imapPort, user: good });
    const { view, logs, stop } = await startTestDaemon(yaml);
    try {
      await waitFor(async () => (await view.listTickets()).length === 1, 15_000, 'good mailbox ticket');
      await waitFor(() => logs.filter((l) => l.mailbox === 'bad' && l.msg === 'imap session failed; reconnecting').length >= 2 || undefined, 20_000, 'retries of the bad mailbox');
      const bad = (await view.mailboxState('bad'));
      expect(bad?.lastError).toMatch(/authentication failed for support@example.test at 127\.0\.0\.1/);
      expect(bad?.state).toBe('failing');
      expect((await view.mailboxState('good'))?.lastCheckAt).toBeTruthy();
    } finally {
      await stop();
      await seed.logout();
    }
  }, 40_000);

  it('quarantines a message that cannot be parsed, moves it to Quarantine, and goes on', async () => {
    const user = dynUser();
    const seed = await testClient(dovecot(), user);
    await seed.append('INBOX', randomBytes(2000));
    await seed.append('INBOX', buildMail({ messageId: '<after@c.test>' }));
    const { view, stop } = await startTestDaemon(header + imapMailboxYaml({ id: 'support', port: dovecot().imapPort, user }));
    try {
      await waitFor(async () => (await view.listTickets()).length === 1, 15_000, 'ticket after the bad one');
      await waitFor(async () => (await count(seed, 'Quarantine')) === 1 || undefined, 15_000, 'moved to Quarantine');
      expect((await view.listInbound({ outcome: 'quarantined' }))[0].reason).toMatch(/not an email message/);
      // The good message is acknowledged right after its commit, maybe a moment later.
      await waitFor(async () => (await count(seed, 'INBOX')) === 0 || undefined, 15_000, 'inbox empty');
    } finally {
      await stop();
      await seed.logout();
    }
  });

  it('leaves a message Dovecot cannot read in the inbox, says so in the status, and takes the mail before and after it', async () => {
    const user = dynUser();
    const seed = await testClient(dovecot(), user);
    for (let i = 0; i < 3; i++) await seed.append('INBOX', buildMail({ messageId: `<m${i}@c.test>`, from: `s${i}@c.test` }));
    // The second message's file is unreadable to Dovecot: its FETCH fails and Dovecot drops the
    // connection, as it does for a corrupt or unreadable message file.
    const maildir = path.join(dovecot().dir, 'mail', DYN_DOMAIN, user.split('@')[0], 'Maildir');
    const files = ['new', 'cur'].flatMap((sub) => readdirSync(path.join(maildir, sub)).map((f) => path.join(maildir, sub, f))).sort();
    chmodSync(files[1], 0);
    const { view, stop } = await startTestDaemon(header + imapMailboxYaml({ id: 'support', port: dovecot().imapPort, user }));
    try {
      await waitFor(async () => (await count(seed, 'Processed')) === 2 || undefined, 30_000, 'the other two taken');
      expect((await view.listTickets()).map((t) => t.customer).sort()).toEqual(['s0@c.test', 's2@c.test']);
      expect(await count(seed, 'INBOX')).toBe(1);
      await waitFor(async () => (await view.mailboxState('support'))?.state === 'idle' || undefined, 10_000, 'idle');
      expect((await view.mailboxState('support'))?.lastError).toMatch(/^the server did not give message UID 2 of INBOX \(twice: .+\); it stays there and is tried again in 60 minutes/);
    } finally {
      await stop();
      await seed.logout();
    }
  }, 40_000);

  it('learns what staff move into the junk folder as spam (ticket spam), and out of it as ham (ticket reopened)', async () => {
    const { seed, view, logs, stop } = await junkDesk((seed) => seed.append('INBOX', buildMail({ messageId: '<junk@c.test>', subject: 'Cheap watches' })));
    try {
      await waitFor(async () => (await count(seed, 'Processed')) === 1 || undefined, 15_000, 'processed');
      expect((await view.listTickets())[0].status).toBe('new');
      await staffMove(seed, 'Processed', '1:*', 'Junk');
      await waitFor(async () => (await view.listTickets())[0].status === 'spam' || undefined, 15_000, 'ticket marked spam');
      expect(await view.spamTotals()).toEqual({ spam: 1, ham: 0 });
      expect((await view.showTicket('HD-1'))?.events.at(-1)).toMatchObject({ actor: 'junk-folder', type: 'status_changed', from: 'new', to: 'spam', reason: 'moved to the junk folder by staff' });
      expect(logs.some((l) => l.msg === 'junk folder message' && l.learnt === 'learnt')).toBe(true);

      // Staff change their mind and move it back to the inbox: ham again, ticket reopened.
      await staffMove(seed, 'Junk', '1:*', 'INBOX');
      await waitFor(async () => (await view.listTickets())[0].status === 'new' || undefined, 15_000, 'ticket reopened');
      expect(await view.spamTotals()).toEqual({ spam: 0, ham: 1 });
      expect((await view.showTicket('HD-1'))?.events.at(-1)).toMatchObject({ actor: 'junk-folder', from: 'spam', to: 'new', reason: 'moved out of the junk folder by staff' });
      expect(await view.listTickets()).toHaveLength(1);
    } finally {
      await stop();
      await seed.logout();
    }
  });

  it('a later message of a ticket moved into the junk folder is learnt as spam but leaves the customer’s ticket as it is; moved back, ham again', async () => {
    const { seed, view, stop } = await junkDesk(async (seed) => {
      await seed.append('INBOX', buildMail({ messageId: '<first@c.test>', subject: 'Invoice question' }));
      await seed.append('INBOX', buildMail({ messageId: '<later@c.test>', inReplyTo: '<first@c.test>', subject: 'Re: Invoice question', body: 'Cheap watches, click here' }));
    });
    try {
      await waitFor(async () => (await count(seed, 'Processed')) === 2 || undefined, 15_000, 'processed');
      await staffMove(seed, 'Processed', { header: { 'message-id': '<later@c.test>' } }, 'Junk');
      await waitFor(async () => (await view.spamTotals()).spam === 1 || undefined, 15_000, 'learnt as spam');
      expect((await view.listTickets())[0].status).toBe('new');
      await waitFor(async () => (await view.showTicket('HD-1'))?.events.some((e) => e.type === 'junk_learnt' && e.to === 'spam') || undefined, 5_000, 'noted on the ticket');

      await staffMove(seed, 'Junk', '1:*', 'INBOX');
      await waitFor(async () => (await view.spamTotals()).ham === 1 || undefined, 15_000, 'learnt as ham');
      expect(await view.spamTotals()).toEqual({ spam: 0, ham: 1 });
      expect((await view.showTicket('HD-1'))?.events.filter((e) => e.type === 'junk_learnt').map((e) => e.to)).toEqual(['spam', 'ham']);
      expect((await view.listTickets()).map((t) => t.status)).toEqual(['new']);
    } finally {
      await stop();
      await seed.logout();
    }
  });

  it.each([
    ['move', 'Processed'],
    ['flag', 'INBOX'],
  ])('learns nothing from a copy the delivery rule filed there as well as in the inbox (Sieve fileinto :copy): the ticket stays as it is (ack: %s, the desk’s copy in %s)', async (ack, kept) => {
    const mail = buildMail({ messageId: '<copied@c.test>', subject: 'Invoice question' });
    const { seed, view, logs, stop } = await junkDesk((seed) => seed.append('INBOX', mail), '', ack);
    try {
      await waitFor(async () => (await view.listTickets()).length === 1 || undefined, 15_000, 'the ticket');
      await waitFor(async () => (await view.mailboxState('support#junk')) || undefined, 15_000, 'the junk folder looked at once');
      // The same delivery's copy in Junk, as `fileinto :copy "Junk"` files it; the desk read the inbox's.
      await seed.append('Junk', mail);
      await waitFor(() => logs.some((l) => l.msg === 'junk folder message') || undefined, 15_000, 'the copy looked at');
      expect(logs.filter((l) => l.msg === 'junk folder message').map((l) => l.learnt)).toEqual(['a copy: the desk still holds the message it read']);
      expect(await view.spamTotals()).toEqual({ spam: 0, ham: 0 });
      expect((await view.listTickets()).map((t) => t.status)).toEqual(['new']);
      // A move of the desk's own copy still teaches (the move test above, and here).
      await staffMove(seed, kept, '1:*', 'Junk');
      await waitFor(async () => (await view.listTickets())[0].status === 'spam' || undefined, 15_000, 'the moved one learnt');
    } finally {
      await stop();
      await seed.logout();
    }
  });

  it('learns nothing from mail the mail server filed into the junk folder before the desk read it (no staff decision)', async () => {
    const { seed, view, logs, stop } = await junkDesk(async (seed) => {
      await seed.mailboxCreate('Junk').catch(() => undefined);
      await seed.append('Junk', buildMail({ messageId: '<filed@c.test>', subject: 'Invoice question', body: 'A customer the server’s filter misjudged.' }));
      await seed.append('INBOX', buildMail({ messageId: '<read@c.test>', subject: 'Cheap watches' }));
    });
    try {
      await waitFor(async () => (await count(seed, 'Processed')) === 1 || undefined, 15_000, 'processed');
      await waitFor(async () => logs.some((l) => l.msg === 'junk folder message' && l.learnt === 'never read by the desk') || undefined, 15_000, 'junk folder looked at');
      expect(await view.spamTotals()).toEqual({ spam: 0, ham: 0 });
      // What staff move there after the desk read it is still learnt.
      await staffMove(seed, 'Processed', '1:*', 'Junk');
      await waitFor(async () => (await view.spamTotals()).spam === 1 || undefined, 15_000, 'learnt as spam');
    } finally {
      await stop();
      await seed.logout();
    }
  });

  it('takes what the mail server files into the junk folder while it runs: a new message is held as spam, a customer’s reply joins its ticket; both stay in the folder', async () => {
    const { seed, view, stop } = await junkDesk((seed) => seed.append('INBOX', buildMail({ messageId: '<first@c.test>', subject: 'Invoice question' })));
    try {
      await waitFor(async () => (await count(seed, 'Processed')) === 1 || undefined, 15_000, 'processed');
      await waitFor(async () => (await view.mailboxState('support#junk')) || undefined, 15_000, 'the junk folder looked at once');
      await seed.append('Junk', buildMail({ messageId: '<reply@c.test>', inReplyTo: '<first@c.test>', subject: 'Re: Invoice question', body: 'The invoice number is 4711.' }));
      await seed.append('Junk', buildMail({ messageId: '<new@c.test>', from: 'dan@c.test', subject: 'Cheap watches' }));
      await waitFor(async () => (await view.listTickets()).length === 2 || undefined, 15_000, 'the filed mail taken');
      expect((await view.showTicket('HD-1'))?.messages.map((m) => m.threadedBy)).toEqual(['new', 'in-reply-to']);
      const held = await view.showTicket('HD-2');
      expect(held).toMatchObject({ status: 'spam', spamVerdict: 'spam' });
      expect(held?.events.find((e) => e.type === 'created')?.reason).toMatch(/spam: spam: the mail server filed it in Junk; our filter says nothing yet: untrained/);
      expect(await count(seed, 'Junk')).toBe(2);
    } finally {
      await stop();
      await seed.logout();
    }
  });

  // The crash is stood in for by the state it leaves (the junk folder's position one batch
  // behind what was committed), written into the SQLite file between a stop and a start.
  sqliteOnly('a message taken from the junk folder and seen there again after a crash is not taken for a staff move: its ticket stays as it is', async () => {
    // Trained (minTrained 0) and every score 0.5 under a ham cutoff of 0.6: junk-filed mail is unsure, its ticket new.
    const first = await junkDesk((seed) => seed.mailboxCreate('Junk').catch(() => undefined), 'spam: { minTrained: 0, hamCutoff: 0.6 }\n');
    try {
      await waitFor(async () => (await first.view.mailboxState('support#junk')) || undefined, 15_000, 'the junk folder looked at once');
      await first.seed.append('Junk', buildMail({ messageId: '<misfiled@c.test>', subject: 'Invoice question' }));
      await waitFor(async () => (await first.view.listTickets()).length === 1 || undefined, 15_000, 'the filed mail taken');
      expect((await first.view.listTickets())[0]).toMatchObject({ status: 'new', spamVerdict: 'unsure' });
    } finally {
      await first.stop();
    }
    const db = new Database(path.join(first.daemon.dataDir, 'helpdesk.sqlite'));
    db.prepare("update mailbox_state set last_uid = 0 where mailbox = 'support#junk'").run();
    db.close();
    const again = await restartTestDaemon(first.daemon);
    try {
      await waitFor(async () => again.logs.some((l) => l.msg === 'junk folder message') || undefined, 15_000, 'the junk folder looked at again');
      expect(again.logs.filter((l) => l.msg === 'junk folder message').map((l) => [l.learnt, l.offered])).toEqual([['taken from the junk folder', false]]);
      expect((await again.view.listTickets())[0]).toMatchObject({ status: 'new', spamVerdict: 'unsure' });
      expect(await again.view.spamTotals()).toEqual({ spam: 0, ham: 0 });
    } finally {
      await again.stop();
      await first.seed.logout();
    }
  });

  it('takes none of what was filed in the junk folder while nobody scanned it (readJunk and learning off)', async () => {
    const first = await junkDesk((seed) => seed.mailboxCreate('Junk').catch(() => undefined));
    const configFile = path.join(first.daemon.configDir, 'helpdesk.yaml');
    const configured = readFileSync(configFile, 'utf8');
    await waitFor(async () => (await first.view.mailboxState('support#junk')) || undefined, 15_000, 'the junk folder looked at once');
    await first.stop();
    writeFileSync(configFile, `jobs: { junkLearning: { enabled: false } }\n${configured.replace('junkScanInterval: 1s', 'junkScanInterval: 1s\n    readJunk: false')}`);
    const off = await restartTestDaemon(first.daemon);
    await waitFor(() => off.logs.some((l) => l.msg === 'imap mailbox opened') || undefined, 15_000, 'opened with the junk folder unscanned');
    await first.seed.append('Junk', buildMail({ messageId: '<while-off@x.test>', from: 'spam@x.test', subject: 'Filed while nobody looked' }));
    await off.stop();
    writeFileSync(configFile, configured);
    const on = await restartTestDaemon(first.daemon);
    try {
      await waitFor(() => on.logs.some((l) => l.msg === 'junk folder message') || undefined, 15_000, 'the junk folder looked at again');
      expect(on.logs.filter((l) => l.msg === 'junk folder message').map((l) => l.offered)).toEqual([false]);
      await new Promise((r) => setTimeout(r, 500));
      expect(await on.view.listTickets()).toHaveLength(0);
    } finally {
      await on.stop();
      await first.seed.logout();
    }
  });

  it('learns nothing from the junk folder when jobs.junkLearning is off', async () => {
    const { seed, view, logs, stop } = await junkDesk((seed) => seed.append('INBOX', buildMail({ messageId: '<nojunk@c.test>', subject: 'Cheap watches' })), 'jobs: { junkLearning: { enabled: false } }\n');
    try {
      await waitFor(async () => (await count(seed, 'Processed')) === 1 || undefined, 15_000, 'processed');
      await staffMove(seed, 'Processed', '1:*', 'Junk');
      // With learning on, the 1 s junk scan learns it within a couple of seconds (test above).
      await new Promise((r) => setTimeout(r, 4000));
      expect((await view.listTickets())[0].status).toBe('new');
      expect(await view.spamTotals()).toEqual({ spam: 0, ham: 0 });
      // The folder is still read (mailboxes[].readJunk): the message is known, a duplicate.
      expect(logs.filter((l) => l.msg === 'junk folder message').map((l) => [l.learnt, l.offered])).toEqual([[null, true]]);
      expect((await view.listInbound({ outcome: 'duplicate' })).map((r) => r.position)).toEqual(['junk:1']);
      expect(await view.listTickets()).toHaveLength(1);
    } finally {
      await stop();
      await seed.logout();
    }
  });

  it('reports per-mailbox status: state, last check, backlog, last UID', async () => {
    const user = dynUser();
    const seed = await testClient(dovecot(), user);
    await seed.append('INBOX', buildMail({}));
    const { view, stop } = await startTestDaemon(header + imapMailboxYaml({ id: 'support', port: dovecot().imapPort, user, ack: 'flag' }));
    try {
      await waitFor(async () => ((await view.mailboxState('support'))?.lastUid ?? 0) >= 1 || undefined, 15_000, 'position saved');
      await waitFor(async () => (await view.mailboxState('support'))?.state === 'idle' || undefined, 15_000, 'idle');
      const st = await view.mailboxState('support');
      expect(st).toMatchObject({ lastUid: 1, backlog: 0, state: 'idle' });
    } finally {
      await stop();
      await seed.logout();
    }
  });
});
