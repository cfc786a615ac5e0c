import type { Config } from '../../src/config/schema';
import { findTag, thread } from '../../src/pipeline/stages/thread';
import { bodyMarker, ourMessageId, signedToken } from '../../src/pipeline/our-message-id';
import type { Draft, InboundMail, StageContext, StoreReader, TicketHandle } from '../../src/pipeline/types';
import { silentLogger } from '../../src/lib/log';
import { noAnswers } from '../helpers/no-answers';

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
    processedRaw: async () => null,
    inboundMessage: async () => null,
    ticketsByMessageIds: async (list) => new Map(list.filter((id) => ids[id]).map((id) => [id, ids[id]])),
    ticketByRef: async (ref) => tickets.get(ref) ?? null,
    isParticipant: async (_t, address) => participants.includes(address),
    openTicketCounts: async () => new Map(),
    roundRobinLast: async () => null,
    spamCounts: async () => new Map(),
    spamTotals: async () => ({ spam: 0, ham: 0 }),
    messageIdSecret: async () => SECRET,
    outboxByMessageIds: async () => null,
    ticketInfo: async () => null,
    sentSince: async () => 0,
    ticketAcknowledged: async () => false,
    messagesFromSince: async () => 0,
    hasEventSince: async () => false,
    suppressedUntil: async () => null,
    contactLocale: async () => null,
    participants: async () => [],
    customerThread: async () => [],
    lastCustomerMessage: async () => null,
    recentNotes: async () => [],
  };
}

const SECRET = 'test-secret-0123456789';

const config = { helpdesk: { ticketPrefix: 'HD', address: 'support@example.test' }, agents: [{ email: 'ana@example.test', aliases: [] }], mailboxes: [] } as unknown as Config;

async function run(mail: Partial<InboundMail>, store: StoreReader, agentClaim: Draft['agentClaim'] = null) {
  const full: InboundMail = { messageId: '<n@x>', messageIdSynthetic: false, inReplyTo: null, references: [], from: { address: 'c@x.test', name: '' }, to: [], cc: [], replyTo: [], subject: '', text: '', html: null, date: null, headers: [], attachments: [], ...mail };
  const draft = { mail: full, agentClaim } as Draft;
  const ctx: StageContext = { config, store, now: () => 0, log: silentLogger(), answers: noAnswers };
  return ((await thread.run(draft, ctx)) as Partial<Draft>).thread;
}

describe('thread stage', () => {
  const t1 = { id: 1, ref: 'HD-1' };
  const t2 = { id: 2, ref: 'HD-2' };

  it('uses the newest known References entry', async () => {
    expect(await run({ references: ['<a>', '<b>', '<zz>'] }, fakeStore({ '<a>': t1, '<b>': t2 }))).toMatchObject({ ticket: t2, threadedBy: 'references' });
  });
  it('falls back to In-Reply-To when no References entry is known', async () => {
    expect(await run({ references: ['<zz>'], inReplyTo: '<a>' }, fakeStore({ '<a>': t1 }))).toMatchObject({ ticket: t1, threadedBy: 'in-reply-to' });
  });
  it('prefers References over the subject tag', async () => {
    expect(await run({ references: ['<b>'], subject: '[HD-1]' }, fakeStore({ '<a>': t1, '<b>': t2 }))).toMatchObject({ ticket: t2 });
  });
  it('accepts a tag from a participant', async () => {
    expect(await run({ subject: 'Re: [HD-1] x' }, fakeStore({ '<a>': t1 }, ['c@x.test']))).toMatchObject({ ticket: t1, threadedBy: 'tag' });
  });
  it('accepts a tag from an agent the trust check believed, not from one it did not', async () => {
    const ana = { address: 'ana@example.test', name: '' };
    const claim = { agent: 'ana@example.test', agentName: 'Ana', reason: '', unsigned: [] };
    expect(await run({ subject: 'Re: [HD-1] x', from: ana }, fakeStore({ '<a>': t1 }), { ...claim, trusted: true })).toMatchObject({ ticket: t1, threadedBy: 'tag' });
    expect(await run({ subject: 'Re: [HD-1] x', from: ana }, fakeStore({ '<a>': t1 }), { ...claim, trusted: false })).toMatchObject({ ticket: null, threadedBy: 'new', linkTo: t1 });
  });
  it('does not follow an agent’s In-Reply-To or References that the DKIM signature does not sign (a replay aimed at another ticket)', async () => {
    const ana = { address: 'ana@example.test', name: '' };
    const claim = { agent: 'ana@example.test', agentName: 'Ana', reason: '', trusted: true };
    const store = fakeStore({ '<a>': t1, '<b>': t2 });
    const mail = { subject: 'Re: [HD-1] x', from: ana, inReplyTo: '<b>', references: ['<b>'] };
    expect(await run(mail, store, { ...claim, unsigned: [] })).toMatchObject({ ticket: t2, threadedBy: 'references' });
    expect(await run(mail, store, { ...claim, unsigned: ['references'] })).toMatchObject({ ticket: t2, threadedBy: 'in-reply-to' });
    expect(await run(mail, store, { ...claim, unsigned: ['in-reply-to', 'references'] })).toMatchObject({ ticket: t1, threadedBy: 'tag' });
  });
  it('refuses a stranger’s tag and asks for a link', async () => {
    expect(await run({ subject: 'Re: [HD-1] x' }, fakeStore({ '<a>': t1 }))).toMatchObject({ ticket: null, threadedBy: 'new', linkTo: t1 });
  });
  it('starts a new ticket for a tag of a ticket that does not exist', async () => {
    expect(await run({ subject: '[HD-99]' }, fakeStore({}))).toMatchObject({ ticket: null, threadedBy: 'new', linkTo: null });
  });

  describe('our signed Message-IDs and body marker', () => {
    const token = signedToken(SECRET, 'HD-1');
    const ours = ourMessageId(token, 'support@example.test');
    it('threads a reply to one of our Message-IDs whose row is gone', async () => {
      expect(await run({ inReplyTo: ours }, fakeStore({ '<a>': t1 }))).toMatchObject({ ticket: t1, threadedBy: 'in-reply-to' });
      expect(await run({ references: ['<zz>', ours] }, fakeStore({ '<a>': t1 }))).toMatchObject({ ticket: t1, threadedBy: 'references' });
    });
    it('refuses a forged token, another secret and another domain', async () => {
      const forged = ours.replace(/\.([0-9a-f]{16})@/, (_m, h: string) => `.${h.startsWith('0') ? '1' : '0'}${h.slice(1)}@`);
      const otherSecret = ourMessageId(signedToken('another-secret-0123456', 'HD-1'), 'support@example.test');
      const otherDomain = ours.replace('example.test', 'elsewhere.test');
      const renamed = ours.replace('HD-1.', 'HD-2.');
      for (const id of [forged, otherSecret, otherDomain, renamed]) {
        expect(await run({ inReplyTo: id }, fakeStore({ '<a>': t1, '<b>': t2 }))).toMatchObject({ ticket: null, threadedBy: 'new' });
      }
    });
    it('threads by the signed marker in a quoted body, from anyone', async () => {
      expect(await run({ text: `Thanks!\n> ${bodyMarker(token)}\n` }, fakeStore({ '<a>': t1 }))).toMatchObject({ ticket: t1, threadedBy: 'tag' });
      expect(await run({ text: `> [ref:HD-2.${token.split('.').slice(1).join('.')}]` }, fakeStore({ '<a>': t1, '<b>': t2 }))).toMatchObject({ ticket: null });
    });
  });
});
