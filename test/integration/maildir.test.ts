import { appendFileSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DYN_DOMAIN, dynUser } from '../harness/dovecot';
import { staffMove, testClient } from '../harness/imap-client';
import { useDovecot } from '../harness/use-dovecot';
import { waitFor } from '../helpers/cli';
import { restartTestDaemon, startTestDaemon, type TestDaemon } from '../helpers/daemon';
import { removeTempDirs, tempDir } from '../helpers/env';
import { fillDatabase } from '../helpers/faults';
import { buildMail } from '../helpers/mail';
import { sqliteOnly } from '../helpers/test-store';

const dovecot = useDovecot();
afterAll(removeTempDirs);

/** A Maildir whose inbox holds one customer's message and whose junk folder (Maildir++ `.Junk`) holds mail older than the desk. */
function maildirWithOldJunk() {
  const dir = tempDir('hd-maildir-');
  const junkNew = path.join(dir, '.Junk', 'new');
  mkdirSync(junkNew, { recursive: true });
  mkdirSync(path.join(dir, 'new'), { recursive: true });
  writeFileSync(path.join(junkNew, '1000.old'), buildMail({ messageId: '<old-spam@x.test>', from: 'old@x.test', subject: 'Cheap watches' }));
  writeFileSync(path.join(dir, 'new', '1001.first'), buildMail({ messageId: '<first@customer.test>', subject: 'Printer broken' }));
  return { dir, junkNew, junkCur: path.join(dir, '.Junk', 'cur') };
}

const yaml = (dir: string, extra = '') => `helpdesk: { address: support@example.test }\nlimits: { maxMessageSize: 1MB }\nmailboxes:\n  - { id: local, maildir: "${dir}", pollInterval: 1s${extra} }\n`;

describe('a Maildir desk and the junk folder its delivery agent files into', () => {
  it('takes what is filed there after its first look and leaves it there unread; what was there before, it does not take', async () => {
    const { dir, junkNew, junkCur } = maildirWithOldJunk();
    const desk = await startTestDaemon(yaml(dir));
    try {
      await waitFor(async () => (await desk.view.listTickets()).length === 1 || undefined, 10_000, 'the inbox message taken');
      expect(readdirSync(junkCur)).toEqual(['1000.old:2,']); // seen, still unread for staff
      // The mail server's filter misjudges a customer's reply and a new customer's first mail.
      writeFileSync(path.join(junkNew, '2000.reply'), buildMail({ messageId: '<reply@customer.test>', inReplyTo: '<first@customer.test>', subject: 'Re: Printer broken' }));
      writeFileSync(path.join(junkNew, '2001.new'), buildMail({ messageId: '<invoice@d.test>', from: 'dan@d.test', subject: 'Invoice question' }));
      // Spam too big to be a message (over limits.maxMessageSize): neither a ticket nor kept.
      writeFileSync(path.join(junkNew, '2002.huge'), Buffer.concat([buildMail({ messageId: '<huge@x.test>' }), Buffer.alloc(1024 * 1024, 'A')]));
      await waitFor(() => readdirSync(junkNew).length === 0 || undefined, 10_000, 'the filed mail taken');
      expect(readdirSync(junkCur).sort()).toEqual(['1000.old:2,', '2000.reply:2,', '2001.new:2,', '2002.huge:2,']);
      expect((await desk.view.listInbound()).map((r) => [r.position, r.outcome]).sort()).toEqual([
        ['1001.first', 'created'],
        ['junk:2000.reply', 'appended'],
        ['junk:2001.new', 'created'],
      ]);
      // The reply joined its conversation; the new message is held as spam (the server is
      // believed while our filter is untrained), where staff find it with `tickets list`.
      const tickets = await desk.view.listTickets();
      expect(tickets.map((t) => [t.subject, t.status, t.spamVerdict]).sort()).toEqual([
        ['Invoice question', 'spam', 'spam'],
        ['Printer broken', 'new', 'ham'],
      ]);
    } finally {
      await desk.stop();
    }
  });

  it('watches a junk folder the delivery agent makes after the desk started, from the scan that finds it', async () => {
    const dir = tempDir('hd-maildir-');
    mkdirSync(path.join(dir, 'new'), { recursive: true });
    // Scanned every hour: only a watch takes mail within the test's seconds.
    const desk = await startTestDaemon(yaml(dir).replace('pollInterval: 1s', 'pollInterval: 1h'));
    try {
      // The desk's first look, with no junk folder yet (on PostgreSQL the source starts once its lease is taken).
      await waitFor(async () => (await desk.view.mailboxState('local#junk')) || undefined, 10_000, 'the first look at the junk folder');
      const junkNew = path.join(dir, '.Junk', 'new');
      mkdirSync(junkNew, { recursive: true });
      writeFileSync(path.join(junkNew, '4000.first-spam'), buildMail({ messageId: '<first-spam@x.test>', from: 'spam@x.test', subject: 'First spam' }));
      // Mail in the inbox makes a scan, which finds the new folder (and takes its first message).
      writeFileSync(path.join(dir, 'new', '4001.customer'), buildMail({ messageId: '<c4001@customer.test>', subject: 'Printer broken' }));
      await waitFor(async () => (await desk.view.listInbound()).length === 2 || undefined, 10_000, 'the inbox and the new junk folder read');
      writeFileSync(path.join(junkNew, '4002.misfiled'), buildMail({ messageId: '<misfiled@d.test>', from: 'dan@d.test', subject: 'Invoice question' }));
      await waitFor(async () => (await desk.view.listInbound()).length === 3 || undefined, 10_000, 'the junk folder watched');
      expect((await desk.view.listInbound()).map((r) => r.position).sort()).toEqual(['4001.customer', 'junk:4000.first-spam', 'junk:4002.misfiled']);
    } finally {
      await desk.stop();
    }
  });

  it('turned off and on again, takes none of what was filed while it was off', async () => {
    const { dir, junkNew, junkCur } = maildirWithOldJunk();
    const setReadJunk = (d: TestDaemon, on: boolean) => {
      const file = path.join(d.configDir, 'helpdesk.yaml');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/pollInterval: 1s(, readJunk: false)?/, on ? 'pollInterval: 1s' : 'pollInterval: 1s, readJunk: false'));
    };
    const inInbound = async (d: TestDaemon, n: number) => waitFor(async () => (await d.view.listInbound()).length === n || undefined, 10_000, `${n} messages taken`);
    let desk = await startTestDaemon(yaml(dir));
    await inInbound(desk, 1);
    await desk.stop();
    setReadJunk(desk, false);
    desk = await restartTestDaemon(desk);
    writeFileSync(path.join(dir, 'new', '3001.next'), buildMail({ messageId: '<next@customer.test>', subject: 'Scanner too' }));
    await inInbound(desk, 2);
    writeFileSync(path.join(junkNew, '3002.while-off'), buildMail({ messageId: '<while-off@x.test>', from: 'spam@x.test', subject: 'Filed while off' }));
    await desk.stop();
    setReadJunk(desk, true);
    desk = await restartTestDaemon(desk);
    try {
      writeFileSync(path.join(dir, 'new', '3003.last'), buildMail({ messageId: '<last@customer.test>', subject: 'Fax as well' }));
      await inInbound(desk, 3);
      expect(readdirSync(junkCur).sort()).toEqual(['1000.old:2,', '3002.while-off:2,']);
      expect((await desk.view.listInbound()).map((r) => r.position).sort()).toEqual(['1001.first', '3001.next', '3003.last']);
    } finally {
      await desk.stop();
    }
  });

  it('reports a junk folder it cannot read once while it stays so, reads the inbox meanwhile, and the folder once it can', async () => {
    const dir = tempDir('hd-maildir-');
    mkdirSync(path.join(dir, 'new'), { recursive: true });
    const junk = path.join(dir, '.Junk');
    const junkNew = path.join(junk, 'new');
    mkdirSync(junk);
    writeFileSync(junkNew, 'not a folder'); // ENOTDIR for every listing, as for root an unreadable folder cannot be made
    const desk = await startTestDaemon(yaml(dir));
    const reports = () => desk.logs.filter((l) => l.level === 40 && /cannot read the junk folder/.test(l.msg)).length;
    try {
      writeFileSync(path.join(dir, 'new', '5001.customer'), buildMail({ messageId: '<c5001@customer.test>', subject: 'Printer broken' }));
      await waitFor(async () => (await desk.view.listTickets()).length === 1 || undefined, 10_000, 'the inbox read beside the broken junk folder');
      await new Promise((r) => setTimeout(r, 2500)); // two scans more (pollInterval 1s)
      expect(reports()).toBe(1);
      expect((await desk.view.mailboxState('local'))?.lastError).toMatch(/^cannot read the junk folder .*ENOTDIR.*; tried again on every scan$/);
      // Mended: the folder's first look, then what is filed there is read.
      rmSync(junkNew);
      mkdirSync(junkNew);
      await waitFor(async () => (await desk.view.mailboxState('local#junk')) || undefined, 10_000, 'the first look at the mended junk folder');
      writeFileSync(path.join(junkNew, '5002.misfiled'), buildMail({ messageId: '<misfiled@d.test>', from: 'dan@d.test', subject: 'Invoice question' }));
      await waitFor(async () => (await desk.view.listInbound()).length === 2 || undefined, 10_000, 'the mended junk folder read');
      // Broken again, it is reported again: the report was cleared when the folder could be read.
      rmSync(junkNew, { recursive: true });
      writeFileSync(junkNew, 'not a folder');
      await waitFor(() => reports() === 2 || undefined, 10_000, 'the second breakage reported');
    } finally {
      await desk.stop();
    }
  });

  it('learns nothing from a copy filed there as well as in the inbox (Sieve fileinto :copy): the ticket stays as it is', async () => {
    const { dir, junkNew } = maildirWithOldJunk();
    const desk = await startTestDaemon(yaml(dir, ', junkScanInterval: 1s'));
    try {
      await waitFor(async () => (await desk.view.listTickets()).length === 1 || undefined, 10_000, 'the inbox message taken');
      await waitFor(() => desk.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('first look at the junk folder for staff')) || undefined, 10_000, 'the first look for staff moves');
      // The delivery agent files one message into both folders, as `fileinto :copy "Junk"` does.
      const copied = buildMail({ messageId: '<copied@customer.test>', from: 'erin@customer.test', subject: 'Invoice question' });
      writeFileSync(path.join(junkNew, '3000.copy'), copied);
      writeFileSync(path.join(dir, 'new', '3000.copy'), copied);
      await waitFor(() => desk.logs.some((l) => l.msg === 'junk folder message') || undefined, 10_000, 'the copy looked at');
      expect(desk.logs.filter((l) => l.msg === 'junk folder message').map((l) => l.learnt)).toEqual(['a copy: the desk still holds the message it read']);
      expect(await desk.view.spamTotals()).toEqual({ spam: 0, ham: 0 });
      expect((await desk.view.listTickets()).map((t) => [t.subject, t.status]).sort()).toEqual([
        ['Invoice question', 'new'],
        ['Printer broken', 'new'],
      ]);
    } finally {
      await desk.stop();
    }
  });

  it('leaves the junk folder alone with readJunk off', async () => {
    const { dir, junkNew } = maildirWithOldJunk();
    const desk = await startTestDaemon(yaml(dir, ', readJunk: false'));
    try {
      writeFileSync(path.join(junkNew, '2001.new'), buildMail({ messageId: '<invoice@d.test>', from: 'dan@d.test', subject: 'Invoice question' }));
      writeFileSync(path.join(dir, 'new', '2002.next'), buildMail({ messageId: '<next@customer.test>', subject: 'Scanner too' }));
      await waitFor(async () => (await desk.view.listInbound()).length === 2 || undefined, 10_000, 'the inbox taken');
      await new Promise((r) => setTimeout(r, 500)); // a scan or two more
      expect(readdirSync(junkNew).sort()).toEqual(['1000.old', '2001.new']);
      expect((await desk.view.listInbound()).map((r) => r.position).sort()).toEqual(['1001.first', '2002.next']);
    } finally {
      await desk.stop();
    }
  });
});

describe('a Maildir desk and a file written into new/ in place', () => {
  it('reads it whole once its writer has finished, not the part written when the watch saw it', async () => {
    const dir = tempDir('hd-maildir-');
    mkdirSync(path.join(dir, 'new'), { recursive: true });
    const desk = await startTestDaemon(yaml(dir));
    try {
      await waitFor(async () => (await desk.view.mailboxState('local'))?.state === 'watching' || undefined, 10_000, 'the source started');
      // As `cp` or `scp` into new/ writes it: the headers and a first part, a pause, the rest.
      const mail = buildMail({ messageId: '<slow@customer.test>', subject: 'Invoice attached', body: `first part\n${'a line of the mail\n'.repeat(200)}LAST LINE` });
      const cut = mail.indexOf('first part') + 20;
      const file = path.join(dir, 'new', '6001.slow');
      writeFileSync(file, mail.subarray(0, cut));
      await new Promise((r) => setTimeout(r, 400)); // several scans' worth (the watch scans 50 ms after a change)
      appendFileSync(file, mail.subarray(cut));
      await waitFor(async () => (await desk.view.listTickets()).length === 1 || undefined, 10_000, 'the mail taken');
      const ticket = await desk.view.showTicket('HD-1');
      expect(ticket?.messages[0].text).toMatch(/LAST LINE\s*$/);
      await waitFor(() => readdirSync(path.join(dir, 'cur')).includes('6001.slow:2,S') || undefined, 5_000, 'the file moved to cur/');
    } finally {
      await desk.stop();
    }
  });
});

describe('a Maildir desk and mail that reached cur/ without it', () => {
  it('takes what an IMAP server moved there (or delivered there flagged) after its first look, once, where it is; never what cur/ held before', async () => {
    const dir = tempDir('hd-maildir-');
    const cur = path.join(dir, 'cur');
    mkdirSync(path.join(dir, 'new'), { recursive: true });
    mkdirSync(cur, { recursive: true });
    // Read by staff before the desk ever ran: older than the desk.
    writeFileSync(path.join(cur, '1000.old:2,S'), buildMail({ messageId: '<old@customer.test>', subject: 'Old question' }));
    let desk: TestDaemon | null = await startTestDaemon(yaml(dir));
    try {
      const taken = async (d: TestDaemon) => (await d.view.listInbound()).map((r) => [r.position, r.outcome]).sort();
      const first: TestDaemon = desk;
      await waitFor(async () => (await first.view.mailboxState('local#cur')) || undefined, 10_000, 'the first look at cur/');
      await new Promise((r) => setTimeout(r, 50)); // past the first look, at the file system clock's granularity
      // Dovecot, opened by a member of staff, moved a waiting message from new/ to cur/ before the desk read it.
      writeFileSync(path.join(cur, '2000.moved:2,'), buildMail({ messageId: '<moved@customer.test>', subject: 'Printer broken' }));
      // And the desk's own mail: taken from new/, moved to cur/.
      writeFileSync(path.join(dir, 'new', '3000.usual'), buildMail({ messageId: '<usual@customer.test>', subject: 'Scanner broken' }));
      await waitFor(async () => (await first.view.listInbound()).length === 2 || undefined, 10_000, 'both taken');
      // Staff flag the old message: it is no newer for that.
      renameSync(path.join(cur, '1000.old:2,S'), path.join(cur, '1000.old:2,FS'));
      await new Promise((r) => setTimeout(r, 2500)); // two periodic scans (pollInterval 1s)
      const both = [
        ['2000.moved', 'created'],
        ['3000.usual', 'created'],
      ];
      expect(await taken(first)).toEqual(both);
      // Taken where it is: staff may be reading it.
      expect(readdirSync(cur).sort()).toEqual(['1000.old:2,FS', '2000.moved:2,', '3000.usual:2,S']);
      await first.stop();
      desk = null;
      // A restarted desk offers none of it again (no duplicate records).
      desk = await restartTestDaemon(first);
      await new Promise((r) => setTimeout(r, 2500));
      expect(await taken(desk)).toEqual(both);
    } finally {
      await desk?.stop();
    }
  });
});


describe('a Maildir desk and mail an IMAP session moves to cur/ as it arrives', () => {
  it('takes it within seconds, not at the next periodic scan', async () => {
    const dir = tempDir('hd-maildir-');
    for (const sub of ['new', 'cur', 'tmp']) mkdirSync(path.join(dir, sub), { recursive: true });
    // Scanned every hour: only the watch of cur/ takes it within the test's seconds.
    const desk = await startTestDaemon(yaml(dir).replace('pollInterval: 1s', 'pollInterval: 1h'));
    try {
      await waitFor(async () => (await desk.view.mailboxState('local#cur')) || undefined, 10_000, 'the first look at cur/');
      await new Promise((r) => setTimeout(r, 50)); // past the first look, at the file system clock's granularity
      // Delivered, and moved on to cur/ by staff's IMAP session (IDLE) before the desk read new/.
      writeFileSync(path.join(dir, 'tmp', '5000.idle'), buildMail({ messageId: '<idle@customer.test>', subject: 'Printer broken' }));
      renameSync(path.join(dir, 'tmp', '5000.idle'), path.join(dir, 'cur', '5000.idle:2,'));
      await waitFor(async () => (await desk.view.listTickets()).length === 1 || undefined, 5_000, 'the ticket');
      expect((await desk.view.listInbound()).map((r) => r.position)).toEqual(['5000.idle']);
    } finally {
      await desk.stop();
    }
  });
});

/** A Maildir that a real Dovecot serves to staff, its Junk folder made, for a desk to read. */
async function staffMaildir() {
  const user = dynUser('maildir');
  const staff = await testClient(dovecot(), user);
  await staff.mailboxCreate('Junk');
  return { staff, dir: path.join(dovecot().dir, 'mail', DYN_DOMAIN, user.split('@')[0], 'Maildir') };
}

/** Delivers a customer's message once the desk has had its first look at cur/ (mail delivered before is older than the desk), and waits until the desk has taken it into cur/. */
async function deliverAndTake(desk: TestDaemon, staff: Awaited<ReturnType<typeof testClient>>, dir: string, body?: string) {
  // On PostgreSQL the source starts once its lease is taken.
  await waitFor(async () => (await desk.view.mailboxState('local#cur')) || undefined, 10_000, 'the first look at cur/');
  await new Promise((r) => setTimeout(r, 50)); // past the first look, at the file system clock's granularity
  await staff.append('INBOX', buildMail({ messageId: '<watches@x.test>', from: 'seller@x.test', subject: 'Cheap watches', ...(body ? { body } : {}) }));
  await waitFor(() => readdirSync(path.join(dir, 'cur')).length === 1 || undefined, 10_000, 'taken and acknowledged');
}

describe('a Maildir desk whose mailbox staff also open over IMAP (a real Dovecot serving the same Maildir)', () => {
  it('learns what staff move into the junk folder as spam (ticket spam) and back out as ham (ticket reopened); not what the folder held before', async () => {
    const { staff, dir } = await staffMaildir();
    // Spam the mail server filed before the desk ever ran, already read by staff.
    await staff.append('Junk', buildMail({ messageId: '<old-spam@x.test>', from: 'old@x.test', subject: 'Old spam' }), ['\\Seen']);
    const desk = await startTestDaemon(yaml(dir, ', junkScanInterval: 1s'));
    try {
      // Taken by the desk (a ticket, the file moved to cur/, seen); staff judge it spam in their mail client.
      await deliverAndTake(desk, staff, dir);
      expect((await desk.view.listTickets()).map((t) => t.status)).toEqual(['new']);
      await staffMove(staff, 'INBOX', '1:*', 'Junk');
      await waitFor(async () => (await desk.view.listTickets())[0].status === 'spam' || undefined, 10_000, 'the ticket marked spam');
      expect(await desk.view.spamTotals()).toEqual({ spam: 1, ham: 0 });
      expect((await desk.view.showTicket('HD-1'))?.events.at(-1)).toMatchObject({ actor: 'junk-folder', type: 'status_changed', from: 'new', to: 'spam', reason: 'moved to the junk folder by staff' });
      // Staff flag the old spam: a rename, which is no move of theirs into the folder.
      const flagLock = await staff.getMailboxLock('Junk');
      try {
        await staff.messageFlagsAdd({ header: { 'message-id': '<old-spam@x.test>' } }, ['\\Flagged']);
      } finally {
        flagLock.release();
      }
      await waitFor(() => desk.logs.some((l) => l.msg === 'junk folder message' && l.learnt === 'never read by the desk') || undefined, 10_000, 'the flagged spam looked at');
      expect(await desk.view.spamTotals()).toEqual({ spam: 1, ham: 0 });

      // They change their mind: back to the inbox, where Dovecot gives it a new name.
      await staffMove(staff, 'Junk', { header: { 'message-id': '<watches@x.test>' } }, 'INBOX');
      await waitFor(async () => (await desk.view.listTickets())[0].status === 'new' || undefined, 10_000, 'the ticket reopened');
      expect(await desk.view.spamTotals()).toEqual({ spam: 0, ham: 1 });
      expect((await desk.view.showTicket('HD-1'))?.events.at(-1)).toMatchObject({ actor: 'junk-folder', from: 'spam', to: 'new', reason: 'moved out of the junk folder by staff' });
      expect(await desk.view.listTickets()).toHaveLength(1);
      // The old spam was looked at once flagged (never read by the desk: nothing learnt), and never taken.
      expect(desk.logs.filter((l) => l.msg === 'junk folder message').map((l) => l.learnt)).toEqual(['learnt', 'never read by the desk']);
      expect((await desk.view.listInbound()).map((r) => r.outcome).sort()).toEqual(['created', 'duplicate']);
    } finally {
      await desk.stop();
      await staff.logout();
    }
  });

  sqliteOnly('learns a move staff made while the database was full once it has room again (reported meanwhile)', async () => {
    const { staff, dir } = await staffMaildir();
    const desk = await startTestDaemon(yaml(dir, ', junkScanInterval: 1s'));
    try {
      // Thousands of tokens: pages the full database does not have.
      await deliverAndTake(desk, staff, dir, Array.from({ length: 3000 }, (_, i) => `word${i.toString(36)}x`).join(' '));
      const full = fillDatabase(desk.daemon.store);
      await staffMove(staff, 'INBOX', '1:*', 'Junk');
      await waitFor(async () => /^cannot learn from the junk folder Junk: .*(SQLITE_FULL|database or disk is full)/.test((await desk.view.mailboxState('local'))?.lastError ?? '') || undefined, 10_000, 'the failure reported');
      expect(await desk.view.spamTotals()).toEqual({ spam: 0, ham: 0 });
      expect((await desk.view.listTickets())[0].status).toBe('new');
      full.release();
      await waitFor(async () => (await desk.view.listTickets())[0].status === 'spam' || undefined, 10_000, 'learnt once there is room');
      expect(await desk.view.spamTotals()).toEqual({ spam: 1, ham: 0 });
    } finally {
      await desk.stop();
      await staff.logout();
    }
  });

  it('learns nothing with jobs.junkLearning off, nor, turned on again, what staff moved meanwhile', async () => {
    const { staff, dir } = await staffMaildir();
    const firstLook = (d: TestDaemon) => d.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('first look at the junk folder for staff')) || undefined;
    const learning = (d: TestDaemon, on: boolean) => {
      const file = path.join(d.configDir, 'helpdesk.yaml');
      const config = readFileSync(file, 'utf8').replace('jobs: { junkLearning: { enabled: false } }\n', '');
      writeFileSync(file, on ? config : `jobs: { junkLearning: { enabled: false } }\n${config}`);
    };
    let desk: TestDaemon | null = await startTestDaemon(yaml(dir, ', junkScanInterval: 1s'));
    try {
      const first: TestDaemon = desk;
      await deliverAndTake(first, staff, dir);
      await waitFor(() => firstLook(first), 10_000, 'the first look for staff moves');
      await first.stop();
      desk = null;
      learning(first, false);
      desk = await restartTestDaemon(first);
      const off: TestDaemon = desk;
      await staffMove(staff, 'INBOX', '1:*', 'Junk');
      await new Promise((r) => setTimeout(r, 2500)); // two scans (pollInterval 1s)
      expect(await off.view.spamTotals()).toEqual({ spam: 0, ham: 0 });
      await off.stop();
      desk = null;
      learning(off, true);
      desk = await restartTestDaemon(off);
      const on: TestDaemon = desk;
      await waitFor(() => firstLook(on), 10_000, 'a new first look');
      await new Promise((r) => setTimeout(r, 2500));
      expect(await on.view.spamTotals()).toEqual({ spam: 0, ham: 0 });
      expect((await on.view.listTickets())[0].status).toBe('new');
    } finally {
      await desk?.stop();
      await staff.logout();
    }
  });
});
