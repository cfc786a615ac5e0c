import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { MailboxConfig, ImapConfig } from '../../src/config/schema';
import type { Delivery, Intake, PassHooks, PassResult } from '../../src/intake/intake';
import { silentLogger } from '../../src/lib/log';
import { imapSource } from '../../src/mail-in/imap';
import type { ImapConnection, ImapConnector, ImapEvents } from '../../src/mail-in/imap-connection';
import type { IngestResult, RawMessage } from '../../src/pipeline/types';
import type { MailboxStateRow, MailboxStateStore } from '../../src/store/mailbox-state';

/**
 * The IMAP source's state machine against a fake server (imap-connection.ts's interface) and a
 * fake intake: milliseconds per test. The same source runs against Dovecot in
 * test/integration/imap*.test.ts.
 */

interface Folder {
  uidValidity: string;
  next: number;
  messages: Map<number, { source: Buffer; flags: Set<string> }>;
}

/** An in-memory IMAP server: folders of messages, with failures to order. */
class FakeServer {
  folders = new Map<string, Folder>();
  connects = 0;
  /** Connection attempts still to refuse, with this error. */
  refuse: Array<Error & { authenticationFailed?: boolean }> = [];
  fetched: number[][] = [];
  downloaded: number[] = [];
  commands: string[] = [];
  open: Array<{ events: ImapEvents; usable: boolean }> = [];
  /** Messages (`folder:uid`) the server cannot read: fetching one drops the connection, as Dovecot does. */
  unreadable = new Set<string>();
  /** Why every MOVE is refused (a full quota), when it is. */
  refuseMove: string | null = null;

  folder(name: string): Folder {
    let f = this.folders.get(name);
    if (!f) this.folders.set(name, (f = { uidValidity: '1', next: 1, messages: new Map() }));
    return f;
  }

  append(name: string, text: string): number {
    const f = this.folder(name);
    const uid = f.next++;
    f.messages.set(uid, { source: Buffer.from(text), flags: new Set() });
    for (const c of this.open) if (c.usable) c.events.news();
    return uid;
  }

  uids(name: string): number[] {
    return [...this.folder(name).messages.keys()];
  }

  /** The server drops every connection. */
  dropAll(): void {
    for (const c of this.open) {
      c.usable = false;
      c.events.closed();
    }
  }

  connector: ImapConnector = (events) => connectTo(this, events);

  /** Registers a session, unless a refusal is queued. */
  session(events: ImapEvents): { events: ImapEvents; usable: boolean } {
    this.connects++;
    const refusal = this.refuse.shift();
    if (refusal) throw refusal;
    const session = { events, usable: true };
    this.open.push(session);
    return session;
  }
}

/** A connection to the fake server, as ImapFlow's would be to a real one. */
async function connectTo(server: FakeServer, events: ImapEvents): Promise<ImapConnection> {
  const session = server.session(events);
  let selected = 'INBOX';
  const need = () => {
    if (!session.usable) throw new Error('connection closed');
  };
  const cannotRead = (uids: number[]) => {
    if (!uids.some((u) => server.unreadable.has(`${selected}:${u}`))) return;
    session.usable = false;
    events.closed();
    throw new Error('Connection not available');
  };
  const conn: ImapConnection = {
    get usable() {
      return session.usable;
    },
    async createFolder(path) {
      need();
      server.folder(path);
    },
    async select(path) {
      need();
      selected = path;
      return { uidValidity: server.folder(path).uidValidity };
    },
    async search(after) {
      need();
      return server.uids(selected).filter((u) => after === undefined || u > after);
    },
    async holdsMessageId(messageId) {
      need();
      const f = server.folder(selected);
      return [...f.messages.values()].some((m) => m.source.includes(`Message-ID: ${messageId}`));
    },
    async largerThan(bytes) {
      need();
      const f = server.folder(selected);
      return [...f.messages.keys()].filter((u) => (f.messages.get(u) as { source: Buffer }).source.length > bytes);
    },
    async download(uid, file) {
      need();
      server.downloaded.push(uid);
      cannotRead([uid]);
      const m = server.folder(selected).messages.get(uid);
      if (!m) return false;
      writeFileSync(file, m.source, { flag: 'wx' });
      return true;
    },
    async fetch(uids) {
      need();
      server.fetched.push(uids);
      cannotRead(uids);
      const f = server.folder(selected);
      return uids.filter((u) => f.messages.has(u)).map((uid) => ({ uid, source: (f.messages.get(uid) as { source: Buffer }).source }));
    },
    async addFlag(uids, flag) {
      need();
      server.commands.push(`flag ${uids.join(',')}`);
      for (const u of uids) server.folder(selected).messages.get(u)?.flags.add(flag);
    },
    async move(uids, to) {
      need();
      if (server.refuseMove) throw new Error(server.refuseMove);
      server.commands.push(`move ${uids.join(',')} ${to}`);
      const from = server.folder(selected);
      for (const u of uids) {
        const m = from.messages.get(u);
        if (!m) continue;
        from.messages.delete(u);
        server.append(to, m.source.toString());
      }
    },
    async remove(uids) {
      need();
      server.commands.push(`delete ${uids.join(',')}`);
      for (const u of uids) server.folder(selected).messages.delete(u);
    },
    async logout() {
      session.usable = false;
    },
    close() {
      session.usable = false;
    },
  };
  return conn;
}

/** The intake's part, faked: each message's result comes from `outcome`; a pass may fail after `failAfter` messages. */
function fakeIntake(outcome: (text: string) => Partial<IngestResult> = () => ({})) {
  const offered: string[] = [];
  const raws: RawMessage[] = [];
  const control = { failAfter: Infinity };
  const intake: Intake = {
    async run(deliveries: AsyncIterable<Delivery> | Iterable<Delivery>, hooks?: PassHooks): Promise<PassResult> {
      let acknowledged = 0;
      for await (const d of deliveries) {
        if (offered.length >= control.failAfter) return { acknowledged, failure: new Error('database or disk is full') };
        // A message too big to be read is offered as a file; the real intake copies and quarantines it.
        const big = d.raw.oversized;
        const text = big ? `file of ${big.size} bytes: ${readFileSync(big.file, 'latin1').slice(0, 10)}` : d.raw.bytes.toString();
        offered.push(text);
        raws.push(d.raw);
        await d.ack({ outcome: 'created', ticket: 'HD-1', threadedBy: null, spam: 'ham', reason: null, ...(big ? { outcome: 'quarantined' } : outcome(text)) } as IngestResult);
        acknowledged++;
        await hooks?.afterAcks?.();
      }
      return { acknowledged, failure: null };
    },
    close: async () => undefined,
  };
  return { intake, offered, raws, control };
}

/** Mailbox status rows in memory. */
function memoryState(): MailboxStateStore & { states: string[]; rows: Map<string, Partial<MailboxStateRow>> } {
  const rows = new Map<string, Partial<MailboxStateRow>>();
  const states: string[] = [];
  const set = (mailbox: string, values: Partial<MailboxStateRow>) => rows.set(mailbox, { ...rows.get(mailbox), mailbox, ...values });
  return {
    rows,
    states,
    get: (mailbox) => (rows.get(mailbox) as MailboxStateRow | undefined) ?? null,
    savePosition: (mailbox, uidValidity, lastUid) => set(mailbox, { uidValidity, lastUid }),
    recordCheck: (mailbox, backlog, at) => set(mailbox, { backlog, lastCheckAt: at }),
    recordState: (mailbox, state) => {
      if (mailbox === 'support') states.push(state);
      set(mailbox, { state });
    },
    recordError: (mailbox, error, at) => set(mailbox, { lastError: error, lastErrorAt: at }),
    // An IMAP source never asks (only a Maildir's cur/ does).
    taken: () => new Set(),
    list: () => [...rows.values()] as MailboxStateRow[],
  };
}

const mailboxWith = (ack: 'move' | 'flag' | 'delete' = 'move', readJunk = false): MailboxConfig & { imap: ImapConfig } =>
  ({
    id: 'support',
    pollInterval: 60_000,
    ack,
    readJunk,
    folders: { inbox: 'INBOX', processed: 'Processed', junk: 'Junk', quarantine: 'Quarantine' },
    imap: { host: 'imap.test', port: 993, secure: true, user: 'support', pass: 'x', tls: { rejectUnauthorized: true } },
  }) as unknown as MailboxConfig & { imap: ImapConfig };

async function until(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function setup(options: { ack?: 'move' | 'flag' | 'delete'; outcome?: (text: string) => Partial<IngestResult>; batchSize?: number; alertAfterMs?: number; maxMessageSize?: number; now?: () => number; learnJunk?: (bytes: Buffer) => Promise<string>; readJunk?: boolean } = {}) {
  const server = new FakeServer();
  const state = memoryState();
  const { intake, offered, raws, control } = fakeIntake(options.outcome);
  const alerts: string[] = [];
  const source = imapSource({
    mailbox: mailboxWith(options.ack, options.readJunk),
    state,
    log: silentLogger(),
    alertAfterMs: options.alertAfterMs ?? 3_600_000,
    onUnhealthy: (incident) => alerts.push(incident.error),
    batchSize: options.batchSize ?? 2,
    retryBaseMs: 2,
    maxMessageSize: options.maxMessageSize,
    connect: server.connector,
    now: options.now,
    learnJunk: options.learnJunk,
    junkScanEveryMs: 0,
  });
  return { server, state, intake, offered, raws, control, alerts, source };
}

describe('the IMAP source (state machine, fake server)', () => {
  it('offers the inbox in UID order, fetched in batches, and moves each message where its outcome says, then waits idle', async () => {
    const { server, state, intake, offered, source } = setup({ outcome: (t) => (t === 'spam' ? { spam: 'spam' } : t === 'bad' ? { outcome: 'quarantined' } : {}) });
    for (const t of ['a', 'spam', 'b', 'bad', 'c']) server.append('INBOX', t);
    await source.start(intake);
    await until(() => state.rows.get('support')?.state === 'idle', 'idle');
    expect(offered).toEqual(['a', 'spam', 'b', 'bad', 'c']);
    expect(server.fetched).toEqual([[1, 2], [3, 4], [5]]);
    expect(server.uids('INBOX')).toEqual([]);
    expect([...server.folder('Processed').messages.values()].map((m) => m.source.toString())).toEqual(['a', 'b', 'c']);
    expect([...server.folder('Junk').messages.values()].map((m) => m.source.toString())).toEqual(['spam']);
    expect([...server.folder('Quarantine').messages.values()].map((m) => m.source.toString())).toEqual(['bad']);
    expect(state.rows.get('support')).toMatchObject({ uidValidity: '1', lastUid: 5, backlog: 0 });
    expect(state.states).toEqual(['connecting', 'processing', 'idle']);
    await source.stop();
    expect(state.states.at(-1)).toBe('stopped');
  });

  it('streams a message over limits.maxMessageSize to a file instead of fetching it, offers it as oversized, and removes the file after the pass', async () => {
    const { server, state, intake, offered, source } = setup({ maxMessageSize: 100 });
    server.append('INBOX', 'small');
    server.append('INBOX', `BIG ${'x'.repeat(500)}`);
    server.append('INBOX', 'after');
    const spoolsBefore = readdirSync(os.tmpdir()).filter((n) => n.startsWith('helpdesk-imap-'));
    await source.start(intake);
    await until(() => state.rows.get('support')?.state === 'idle', 'idle');
    await source.stop();
    expect(server.fetched).toEqual([[1], [3]]);
    expect(server.downloaded).toEqual([2]);
    expect(offered).toEqual(['small', 'file of 504 bytes: BIG xxxxxx', 'after']);
    expect([...server.folder('Quarantine').messages.values()].map((m) => m.source.length)).toEqual([504]);
    expect(readdirSync(os.tmpdir()).filter((n) => n.startsWith('helpdesk-imap-'))).toEqual(spoolsBefore);
  });

  it('fetches a message over 1 MB on its own, so that a batch never holds many big messages at once', async () => {
    const { server, state, intake, offered, source } = setup({ batchSize: 3, maxMessageSize: 10 * 1024 * 1024 });
    const large = `L ${'x'.repeat(1024 * 1024)}`;
    for (const t of ['a', large, 'b', 'c', large, large, 'd']) server.append('INBOX', t);
    await source.start(intake);
    await until(() => state.rows.get('support')?.state === 'idle', 'idle');
    await source.stop();
    expect(server.fetched).toEqual([[1], [2], [3, 4], [5], [6], [7]]);
    expect(offered.map((t) => t.slice(0, 1))).toEqual(['a', 'L', 'b', 'c', 'L', 'L', 'd']);
  });

  it('with ack: flag, flags \\Seen and afterwards looks only above the last acknowledged UID', async () => {
    const { server, state, intake, offered, source } = setup({ ack: 'flag' });
    server.append('INBOX', 'a');
    server.append('INBOX', 'b');
    await source.start(intake);
    await until(() => state.rows.get('support')?.state === 'idle', 'idle');
    server.append('INBOX', 'c'); // news wakes the idle loop
    await until(() => offered.length === 3, 'the new message');
    await source.stop();
    expect(offered).toEqual(['a', 'b', 'c']);
    expect(server.commands).toEqual(['flag 1', 'flag 2', 'flag 3']);
    expect([...server.folder('INBOX').messages.values()].every((m) => m.flags.has('\\Seen'))).toBe(true);
  });

  it('rescans the whole inbox when UIDVALIDITY changed', async () => {
    const { server, state, intake, offered, source } = setup({ ack: 'flag' });
    state.savePosition('support', '0', 7); // as saved for an older incarnation of the folder
    server.append('INBOX', 'a');
    await source.start(intake);
    await until(() => offered.length === 1, 'the message below the old last UID');
    await source.stop();
    expect(state.rows.get('support')).toMatchObject({ uidValidity: '1', lastUid: 1 });
  });

  it('goes failing on a refused login, says why, alerts once per incident, and reconnects with backoff until it works', async () => {
    const { server, state, intake, offered, alerts, source } = setup({ alertAfterMs: 0 });
    const refused = () => Object.assign(new Error('Command failed'), { authenticationFailed: true, responseText: 'bad password' });
    server.refuse = [refused(), refused(), refused()];
    server.append('INBOX', 'a');
    await source.start(intake);
    await until(() => offered.length === 1, 'processed after the refusals');
    await source.stop();
    expect(server.connects).toBe(4);
    expect(state.rows.get('support')?.lastError).toBe('authentication failed for support at imap.test:993: bad password');
    expect(state.states.slice(0, 7)).toEqual(['connecting', 'failing', 'connecting', 'failing', 'connecting', 'failing', 'connecting']);
    expect(alerts).toHaveLength(1);
  });

  it('acknowledges only what the intake made durable; after a failed pass it reconnects and offers the rest again', async () => {
    const { server, state, intake, offered, control, source } = setup();
    control.failAfter = 2;
    for (const t of ['a', 'b', 'c']) server.append('INBOX', t);
    await source.start(intake);
    await until(() => state.rows.get('support')?.state === 'failing', 'failing');
    expect(state.rows.get('support')?.lastError).toBe('database or disk is full');
    expect(server.uids('Processed')).toHaveLength(2); // a and b were acknowledged before the failure
    expect(server.uids('INBOX')).toEqual([3]);
    control.failAfter = Infinity;
    await until(() => server.uids('INBOX').length === 0, 'c acknowledged after the reconnect');
    await source.stop();
    expect(offered).toEqual(['a', 'b', 'c']);
  });

  it('reconnects when the server drops the connection while idle', async () => {
    const { server, state, intake, offered, source } = setup();
    await source.start(intake);
    await until(() => state.rows.get('support')?.state === 'idle', 'idle');
    server.dropAll();
    await until(() => server.connects === 2 && state.rows.get('support')?.state === 'idle', 'idle on a new connection');
    expect(state.rows.get('support')?.lastError).toBe('connection closed by the server');
    server.append('INBOX', 'after');
    await until(() => offered.length === 1, 'mail after the reconnect');
    await source.stop();
  });

  it.each(['move', 'flag'] as const)('with ack: %s, leaves a message the server cannot give where it is, says so, takes the mail around it, and tries it again an hour later', async (ack) => {
    let clock = 1_000_000;
    const { server, state, intake, offered, source } = setup({ ack, now: () => clock });
    for (const t of ['a', 'b', 'c', 'd']) server.append('INBOX', t);
    server.unreadable.add('INBOX:2');
    await source.start(intake);
    await until(() => offered.length === 3 && state.rows.get('support')?.state === 'idle', 'the others taken, then idle');
    expect(offered).toEqual(['a', 'c', 'd']);
    expect(ack === 'move' ? server.uids('INBOX') : server.uids('INBOX').filter((u) => !server.folder('INBOX').messages.get(u)?.flags.has('\\Seen'))).toEqual([2]);
    expect(state.rows.get('support')?.lastError).toBe('the server did not give message UID 2 of INBOX (twice: Connection not available); it stays there and is tried again in 60 minutes, while the mail after it is taken');
    expect(state.rows.get('support')?.backlog).toBe(ack === 'move' ? 1 : 0);
    // Within the hour, new mail does not try it again.
    const connects = server.connects;
    server.append('INBOX', 'e');
    await until(() => offered.length === 4, 'the new message');
    expect(server.connects).toBe(connects);
    // An hour later it is tried once more; the server can read it now.
    server.unreadable.clear();
    clock += 60 * 60_000;
    server.append('INBOX', 'f');
    await until(() => offered.length === 6, 'the message tried again and the new one');
    await source.stop();
    expect(offered.slice(4)).toEqual(['b', 'f']);
    if (ack === 'move') expect(server.uids('INBOX')).toEqual([]);
  });

  it('learns the junk folder around a message the server cannot give, and that one an hour later', async () => {
    let clock = 1_000_000;
    const learnt: string[] = [];
    // Learning is idempotent: a batch cut short by the failure is learnt again from its start.
    const { server, state, intake, source } = setup({ now: () => clock, learnJunk: async (bytes) => (learnt.includes(bytes.toString()) ? 'already' : (learnt.push(bytes.toString()), 'learnt')) });
    for (const t of ['j1', 'j2', 'j3']) server.append('Junk', t);
    server.unreadable.add('Junk:2');
    await source.start(intake);
    await until(() => learnt.length === 2, 'the others learnt');
    expect(learnt).toEqual(['j1', 'j3']);
    await until(() => state.rows.get('support#junk')?.lastUid === 3, 'the position past all three');
    server.unreadable.clear();
    clock += 60 * 60_000;
    server.append('INBOX', 'wake');
    await until(() => learnt.length === 3, 'the skipped one learnt');
    await source.stop();
    expect(learnt[2]).toBe('j2');
  });

  it('with readJunk, offers what the mail server files into the junk folder from the first look on, marked as such, and leaves it there', async () => {
    // Staff moves are learnt; what the desk never read is the server's filing.
    const { server, state, intake, offered, raws, source } = setup({ readJunk: true, learnJunk: async (bytes) => (bytes.toString().startsWith('moved') ? 'learnt' : 'never read by the desk') });
    server.append('Junk', 'older than the desk');
    await source.start(intake);
    await until(() => state.rows.get('support#junk')?.lastUid === 1, 'the first look');
    server.append('Junk', 'filed by the server');
    server.append('Junk', 'moved by staff');
    server.append('INBOX', 'customer');
    await until(() => offered.length === 2 && state.rows.get('support#junk')?.lastUid === 3, 'the inbox and the junk folder looked at');
    await source.stop();
    expect(offered.sort()).toEqual(['customer', 'filed by the server']);
    expect(raws.find((r) => r.filedAsJunk)).toMatchObject({ source: 'imap:support', position: 'junk:2', mailbox: 'support', filedAsJunk: 'Junk' });
    expect(server.uids('Junk')).toEqual([1, 2, 3]);
  });

  it('leaves a junk-folder message over limits.maxMessageSize unread (neither learnt nor taken), and goes on past it', async () => {
    const learnt: string[] = [];
    const { server, state, intake, offered, source } = setup({ readJunk: true, maxMessageSize: 100, learnJunk: async (bytes) => (learnt.push(bytes.toString()), 'never read by the desk') });
    await source.start(intake);
    await until(() => state.rows.get('support#junk') !== undefined, 'the first look');
    server.append('Junk', `BIG ${'x'.repeat(200)}`);
    server.append('Junk', 'small');
    server.append('INBOX', 'wake');
    await until(() => state.rows.get('support#junk')?.lastUid === 2 && offered.length === 2, 'past both');
    await source.stop();
    expect(learnt).toEqual(['small']);
    expect(offered.sort()).toEqual(['small', 'wake']);
    expect(server.downloaded).toEqual([]);
  });

  it('with readJunk and no learning, the first look fetches nothing from the junk folder, only notes where it ends', async () => {
    const { server, state, intake, offered, source } = setup({ readJunk: true });
    server.append('Junk', 'older than the desk');
    await source.start(intake);
    await until(() => state.rows.get('support#junk')?.lastUid === 1, 'the first look');
    expect(server.fetched).toEqual([]);
    server.append('Junk', 'filed by the server');
    server.append('INBOX', 'wake');
    await until(() => offered.length === 2, 'the filed one taken');
    await source.stop();
    expect(offered.sort()).toEqual(['filed by the server', 'wake']);
  });

  it('a mailbox taking mail is healthy while more keeps arriving: a failure hours later is a new incident, not an alert', async () => {
    let clock = 0;
    const stream = { server: null as FakeServer | null, taken: 0 };
    const { server, intake, alerts, source } = setup({
      alertAfterMs: 1000,
      now: () => clock,
      // Each message taken brings the next (the inbox is never empty); the fifth comes hours later, and the server drops.
      outcome: () => {
        const s = stream.server as FakeServer;
        if (++stream.taken < 5) s.append('INBOX', `more ${stream.taken}`);
        else if (stream.taken === 5) {
          clock += 3 * 3_600_000;
          s.dropAll();
        }
        return {};
      },
    });
    stream.server = server;
    server.refuse = [new Error('ECONNREFUSED')];
    server.append('INBOX', 'first');
    await source.start(intake);
    await until(() => server.connects >= 3, 'the reconnect after the drop');
    await source.stop();
    expect(alerts).toEqual([]);
  });

  it('a session that fails the same way after each search (a MOVE refused) is one incident: one alert, not one per reconnect', async () => {
    const { server, intake, alerts, source } = setup({ alertAfterMs: 0 });
    server.refuseMove = 'NO [OVERQUOTA] Quota exceeded';
    server.append('INBOX', 'a');
    await source.start(intake);
    await until(() => server.connects >= 4, 'reconnects');
    await source.stop();
    expect(alerts).toEqual(['NO [OVERQUOTA] Quota exceeded']);
  });

  it('stops promptly from idle and from the backoff of a failing session', async () => {
    const idle = setup();
    await idle.source.start(idle.intake);
    await until(() => idle.state.rows.get('support')?.state === 'idle', 'idle');
    await idle.source.stop();
    expect(idle.state.states.at(-1)).toBe('stopped');

    const failing = setup();
    failing.server.refuse = Array.from({ length: 50 }, () => new Error('ECONNREFUSED'));
    await failing.source.start(failing.intake);
    await until(() => failing.server.connects >= 3, 'retries');
    await failing.source.stop();
    expect(failing.state.states.at(-1)).toBe('stopped');
  });
});
