import type { Config } from '../../src/config/schema';
import { findTag, thread } from '../../src/pipeline/stages/thread';
import { bodyMarker, ourMessageId, signedToken } from '../../src/pipeline/our-message-id';
import type { Draft, InboundMail, StageContext, StoreReader, TicketHandle } from '../../src/pipeline/types';
import { silentLogger } from '../../src/lib/log';

describe('findTag', () => {
  it.each([
    ['Re: [HD-123] Printer', 'HD-123'],
    ['AW: [hd-7] Drucker', 'HD-7'],
    ['[HD-0042]', 'HD-42'],
    ['[HD 9] spaced', 'HD-9'],
    ['HD-123 without brackets', null],
    ['[XX-1] other prefix', null],
    ['[HD-] no number', null],
  ])('%s → %s', (subject, ref) => {
    expect(findTag(subject, 'HD')).toBe(ref);
  });
});

/** A store that knows a few Message-IDs and one ticket with one participant. */
function fakeStore(ids: Record<string, TicketHandle>, participants: string[] = []): StoreReader {
  const tickets = new Map(Object.values(ids).map((t) => [t.ref, t]));
  return {
    processedRaw: () => null,
    inboundMessage: () => null,
    ticketsByMessageIds: (list) => new Map(list.filter((id) => ids[id]).map((id) => [id, ids[id]])),
    ticketByRef: (ref) => tickets.get(ref) ?? null,
    isParticipant: (_t, address) => participants.includes(address),
    openTicketCounts: () => new Map(),
    roundRobinLast: () => null,
    spamCounts: () => new Map(),
    spamTotals: () => ({ spam: 0, ham: 0 }),
    messageIdSecret: () => SECRET,
    outboxByMessageIds: () => null,
    ticketInfo: () => null,
    acksSince: () => 0,
    ticketAcknowledged: () => false,
    messagesFromSince: () => 0,
    hasEventSince: () => false,
    suppressedUntil: () => null,
    contactLocale: () => null,
    participants: () => [],
    customerThread: () => [],
    lastCustomerMessage: () => null,
    recentNotes: () => [],
  };
}

const SECRET = 'test-secret-0123456789';

const config = { helpdesk: { ticketPrefix: 'HD', address: 'support@example.test' }, agents: [{ email: 'ana@example.test', aliases: [] }], mailboxes: [] } as unknown as Config;

function run(mail: Partial<InboundMail>, store: StoreReader, agentClaim: Draft['agentClaim'] = null) {
  const full: InboundMail = { messageId: '<n@x>', messageIdSynthetic: false, inReplyTo: null, references: [], from: { address: 'c@x.test', name: '' }, to: [], cc: [], replyTo: [], subject: '', text: '', html: null, date: null, headers: [], attachments: [], ...mail };
  const draft = { mail: full, agentClaim } as Draft;
  const ctx: StageContext = { config, store, now: () => 0, log: silentLogger() };
  return (thread.run(draft, ctx) as Partial<Draft>).thread;
}

describe('thread stage', () => {
  const t1 = { id: 1, ref: 'HD-1' };
  const t2 = { id: 2, ref: 'HD-2' };

  it('uses the newest known References entry', () => {
    expect(run({ references: ['<a>', '<b>', '<zz>'] }, fakeStore({ '<a>': t1, '<b>': t2 }))).toMatchObject({ ticket: t2, threadedBy: 'references' });
  });
  it('falls back to In-Reply-To when no References entry is known', () => {
    expect(run({ references: ['<zz>'], inReplyTo: '<a>' }, fakeStore({ '<a>': t1 }))).toMatchObject({ ticket: t1, threadedBy: 'in-reply-to' });
  });
  it('prefers References over the subject tag', () => {
    expect(run({ references: ['<b>'], subject: '[HD-1]' }, fakeStore({ '<a>': t1, '<b>': t2 }))).toMatchObject({ ticket: t2 });
  });
  it('accepts a tag from a participant', () => {
    expect(run({ subject: 'Re: [HD-1] x' }, fakeStore({ '<a>': t1 }, ['c@x.test']))).toMatchObject({ ticket: t1, threadedBy: 'tag' });
  });
  it('accepts a tag from an agent the trust check believed, not from one it did not', () => {
    const ana = { address: 'ana@example.test', name: '' };
    const claim = { agent: 'ana@example.test', agentName: 'Ana', reason: '' };
    expect(run({ subject: 'Re: [HD-1] x', from: ana }, fakeStore({ '<a>': t1 }), { ...claim, trusted: true })).toMatchObject({ ticket: t1, threadedBy: 'tag' });
    expect(run({ subject: 'Re: [HD-1] x', from: ana }, fakeStore({ '<a>': t1 }), { ...claim, trusted: false })).toMatchObject({ ticket: null, threadedBy: 'new', linkTo: t1 });
  });
  it('refuses a stranger’s tag and asks for a link', () => {
    expect(run({ subject: 'Re: [HD-1] x' }, fakeStore({ '<a>': t1 }))).toMatchObject({ ticket: null, threadedBy: 'new', linkTo: t1 });
  });
  it('starts a new ticket for a tag of a ticket that does not exist', () => {
    expect(run({ subject: '[HD-99]' }, fakeStore({}))).toMatchObject({ ticket: null, threadedBy: 'new', linkTo: null });
  });

  describe('our signed Message-IDs and body marker', () => {
    const token = signedToken(SECRET, 'HD-1');
    const ours = ourMessageId(token, 'support@example.test');
    it('threads a reply to one of our Message-IDs whose row is gone', () => {
      expect(run({ inReplyTo: ours }, fakeStore({ '<a>': t1 }))).toMatchObject({ ticket: t1, threadedBy: 'in-reply-to' });
      expect(run({ references: ['<zz>', ours] }, fakeStore({ '<a>': t1 }))).toMatchObject({ ticket: t1, threadedBy: 'references' });
    });
    it('refuses a forged token, another secret and another domain', () => {
      const forged = ours.replace(/\.([0-9a-f]{16})@/, (_m, h: string) => `.${h.startsWith('0') ? '1' : '0'}${h.slice(1)}@`);
      const otherSecret = ourMessageId(signedToken('another-secret-0123456', 'HD-1'), 'support@example.test');
      const otherDomain = ours.replace('example.test', 'elsewhere.test');
      const renamed = ours.replace('HD-1.', 'HD-2.');
      for (const id of [forged, otherSecret, otherDomain, renamed]) {
        expect(run({ inReplyTo: id }, fakeStore({ '<a>': t1, '<b>': t2 }))).toMatchObject({ ticket: null, threadedBy: 'new' });
      }
    });
    it('threads by the signed marker in a quoted body, from anyone', () => {
      expect(run({ text: `Thanks!\n> ${bodyMarker(token)}\n` }, fakeStore({ '<a>': t1 }))).toMatchObject({ ticket: t1, threadedBy: 'tag' });
      expect(run({ text: `> [ref:HD-2.${token.split('.').slice(1).join('.')}]` }, fakeStore({ '<a>': t1, '<b>': t2 }))).toMatchObject({ ticket: null });
    });
  });
});
