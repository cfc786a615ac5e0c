import { loadConfig } from '../../src/config/load';
import { silentLogger } from '../../src/lib/log';
import { parseDsnFields } from '../../src/pipeline/bounce-report';
import { baseSubject, ticketSubject } from '../../src/pipeline/reply-subject';
import { notify } from '../../src/pipeline/stages/notify';
import { blankUpdate as emptyUpdate } from '../../src/pipeline/stages/commands';
import type { Classification } from '../../src/pipeline/stages/classify';
import type { Draft, InboundMail, NewTicketDecision, NotifyDecision, StoreReader, TicketInfo, TicketUpdate } from '../../src/pipeline/types';
import type { Config } from '../../src/config/schema';
import { removeTempDirs, writeConfigDir } from '../helpers/env';
import { noAnswers } from '../helpers/no-answers';

afterAll(removeTempDirs);

const config = loadConfig(
  writeConfigDir({
    'agents.yaml': `agents:
  - { name: Ana, email: ana@example.test, groups: [software], admin: true }
  - { name: Bob, email: bob@example.test, groups: [hardware] }
groups:
  - { name: software, members: [] }
  - { name: hardware, members: [bob@example.test] }
`,
  }),
);

interface Knobs {
  acks?: number;
  /** An agent has answered the sender before. */
  answered?: boolean;
  /** Other mails sent to the address, by template. */
  sent?: Record<string, number>;
  suppressed?: string[];
  recent?: number;
  ticket?: Partial<TicketInfo>;
  participants?: { email: string; name: string | null; role: string }[];
}

function store(k: Knobs = {}): StoreReader {
  const none = () => {
    throw new Error('not used');
  };
  return {
    processedRaw: none,
    inboundMessage: none,
    ticketsByMessageIds: none,
    ticketByRef: none,
    isParticipant: none,
    openTicketCounts: none,
    roundRobinLast: none,
    spamCounts: none,
    spamTotals: none,
    messageIdSecret: none,
    outboxByMessageIds: none,
    ticketInfo: async (id) => ({ id, ref: 'HD-5', subject: 'Printer', status: 'open', priority: 'medium', severity: 'medium', category: null, queue: null, assignee: null, customer: 'carla@customer.test', dueAt: null, firstResponseDueAt: null, pausedAt: null, organisation: null, contract: null, slaLevel: null, createdAt: 0, closedAt: null, firstResponseAt: null, spamVerdict: 'ham', spamScore: 0.1, ...k.ticket }),
    sentSince: async (template) => (template === 'ack' ? (k.acks ?? 0) : template === 'agent_reply' ? (k.answered ? 1 : 0) : (k.sent?.[template] ?? 0)),
    ticketAcknowledged: async () => true,
    messagesFromSince: async () => k.recent ?? 0,
    hasEventSince: async () => false,
    suppressedUntil: async (a) => (k.suppressed?.includes(a) ? Date.parse('2026-12-23T00:00:00Z') : null),
    contactLocale: async () => null,
    participants: async () => k.participants ?? [],
    customerThread: async () => ['<c1@customer.test>'],
    lastCustomerMessage: async () => null,
    recentNotes: async () => [],
  };
}

const normal: Classification = { kind: 'normal', bulk: false, reason: '' };
const newTicket: NewTicketDecision = {
  subject: 'Printer',
  status: 'new',
  priority: 'medium',
  severity: 'medium',
  category: 'general',
  categorySource: 'default',
  queue: null,
  assignee: 'ana@example.test',
  tags: [],
  spamVerdict: 'ham',
  spamScore: 0.01,
  dueAt: 0,
  firstResponseDueAt: null,
  organisation: null,
  contract: null,
  slaLevel: null,
  reasons: {},
};

async function run(over: { mail?: Partial<InboundMail>; classification?: Classification; ticket?: NewTicketDecision | null; existing?: boolean; role?: 'agent' | 'customer'; knobs?: Knobs; unassignedTo?: string[]; config?: Config; update?: Partial<TicketUpdate>; claim?: Draft['agentClaim'] } = {}): Promise<NotifyDecision> {
  const mail: InboundMail = { messageId: '<m@c>', messageIdSynthetic: false, inReplyTo: null, references: [], from: { address: 'carla@customer.test', name: 'Carla' }, to: [], cc: [], replyTo: [], subject: 'Printer', text: 'hi', html: null, date: null, headers: [], attachments: [], ...over.mail };
  const draft: Draft = {
    raw: { bytes: Buffer.alloc(0), source: 'test', position: null, mailbox: null },
    rawSha256: '',
    rawPath: '',
    mail,
    receivedAt: Date.parse('2026-11-23T10:00:00Z'),
    classification: over.classification ?? normal,
    thread: { ticket: over.existing ? { id: 5, ref: 'HD-5' } : null, threadedBy: over.existing ? 'references' : 'new', reason: '', linkTo: null },
    actor: { role: over.role ?? 'customer', address: mail.from?.address ?? null, name: null, agentName: null, reason: '', trustWarning: null, participants: [], participantsNotAdded: [], participantsUnusable: [], participantsUnproven: [] },
    newTicket: over.existing ? undefined : over.ticket === null ? undefined : (over.ticket ?? newTicket),
    assignment: { assignee: (over.ticket ?? newTicket).assignee, reason: 'rule', roundRobin: null, notifyUnassigned: over.unassignedTo ?? [] },
    update: over.update ? { ...blankUpdate, ...over.update } : undefined,
    agentClaim: over.claim,
  };
  const result = (await notify.run(draft, { config: over.config ?? config, store: store(over.knobs), now: () => 0, log: silentLogger(), answers: noAnswers })) as Partial<Draft>;
  if (!result.notify) throw new Error('no decision');
  return result.notify;
}

const blankUpdate: TicketUpdate = { ...emptyUpdate({ id: 5, ref: 'HD-5' }, 'agent:ana@example.test', 'Try again.', []), relay: true };

const sent = (d: NotifyDecision) => d.mails.map((m) => `${m.template} ${m.to}`);

describe('notify stage', () => {
  it('acknowledges a new ticket and tells the assignee', async () => {
    expect(sent(await run())).toEqual(['ack carla@customer.test', 'assigned ana@example.test']);
  });
  it('tells the people recorded for an unassigned ticket', async () => {
    expect(sent(await run({ ticket: { ...newTicket, assignee: null }, unassignedTo: ['ana@example.test'] }))).toEqual(['ack carla@customer.test', 'unassigned ana@example.test']);
  });
  it('holds the acknowledgement back when the spam filter is unsure, and says why', async () => {
    const d = await run({ ticket: { ...newTicket, spamVerdict: 'unsure' } });
    expect(sent(d)).toEqual(['assigned ana@example.test']);
    expect(d.withheld).toEqual([expect.stringMatching(/unsure/)]);
  });
  it('sends nothing for a spam ticket', async () => {
    expect(sent(await run({ ticket: { ...newTicket, status: 'spam', spamVerdict: 'spam' } }))).toEqual([]);
  });
  it.each([
    ['an auto-reply', { classification: { kind: 'auto-reply', bulk: false, reason: 'Auto-Submitted: auto-replied' } as Classification }, /^auto-reply/],
    ['a bounce', { classification: { kind: 'bounce', bulk: false, reason: 'dsn' } as Classification }, /^bounce/],
    ['list mail', { classification: { kind: 'normal', bulk: true, reason: 'List-Id' } as Classification }, /^bulk/],
    ['a no-reply sender', { mail: { from: { address: 'no-reply@shop.test', name: '' } } }, /no-reply sender/],
    ['our own address', { mail: { from: { address: 'support@example.test', name: '' } } }, /our own address/],
    ['a sender that is not an address', { mail: { from: { address: 'email_from', name: '' } } }, /not a mail address/],
  ])('triggers nothing for %s', async (_what, over, why) => {
    const d = await run(over);
    expect(d.mails).toEqual([]);
    expect(d.quiet).toMatch(why);
  });
  it('rate-limits acknowledgements per sender', async () => {
    const d = await run({ knobs: { acks: 5 } });
    expect(sent(d)).toEqual(['assigned ana@example.test']);
    expect(d.withheld[0]).toMatch(/already got 5 acknowledgements within 60 minutes/);
  });
  it('sends no automatic mail to a hard-bounced address', async () => {
    const d = await run({ knobs: { suppressed: ['carla@customer.test'] } });
    expect(sent(d)).toEqual(['assigned ana@example.test']);
    expect(d.withheld[0]).toMatch(/^ack to carla@customer.test: the address hard-bounced/);
  });
  it('does not acknowledge an agent who opens a ticket, nor tell them of their own ticket', async () => {
    expect(sent(await run({ role: 'agent', mail: { from: { address: 'ana@example.test', name: 'Ana' } } }))).toEqual([]);
  });
  it('answers in the language of the message when it is one we have', async () => {
    expect((await run({ mail: { headers: [{ name: 'content-language', value: 'es-ES' }] } })).mails[0].locale).toBe('es');
    expect((await run({ mail: { headers: [{ name: 'content-language', value: 'fr' }] } })).mails[0].locale).toBe('en');
  });
  it('tells the assignee, else the queue, else the admins of a customer reply', async () => {
    expect(sent(await run({ existing: true, knobs: { ticket: { assignee: 'bob@example.test' } } }))).toEqual(['customer_replied bob@example.test']);
    expect(sent(await run({ existing: true, knobs: { ticket: { queue: 'hardware' } } }))).toEqual(['customer_replied bob@example.test']);
    expect(sent(await run({ existing: true, knobs: { ticket: { queue: 'software' } } }))).toEqual(['customer_replied ana@example.test']);
  });
  it('acknowledges nothing when notifications.acknowledge is off, and says so', async () => {
    const quiet = { ...config, notifications: { ...config.notifications, acknowledge: false } };
    const d = await run({ config: quiet });
    expect(sent(d)).toEqual(['assigned ana@example.test']);
    expect(d.withheld).toEqual(['acknowledgement: notifications.acknowledge is off']);
  });
  it('quotes the message in the acknowledgement only to an address an agent has answered (notifications.ackQuotes)', async () => {
    const quoted = async (ackQuotes: 'known' | 'always' | 'never', answered: boolean) => {
      const d = await run({ config: { ...config, notifications: { ...config.notifications, ackQuotes } }, knobs: { answered } });
      return (d.mails.find((m) => m.template === 'ack')?.data.message as { text: string } | null)?.text ?? null;
    };
    expect(await quoted('known', false)).toBeNull();
    expect(await quoted('known', true)).toBe('hi');
    expect(await quoted('always', false)).toBe('hi');
    expect(await quoted('never', true)).toBeNull();
  });
  it('tells an agent, once an hour, that mail in their name was not believed; no acknowledgement goes to them', async () => {
    const claim = { agent: 'ana@example.test', agentName: 'Ana', trusted: false, reason: 'the message has no DKIM signature', unsigned: [] };
    const mail = { from: { address: 'ana@example.test', name: 'Ana' } };
    const fresh = await run({ mail, claim, ticket: { ...newTicket, assignee: 'bob@example.test' } });
    expect(sent(fresh)).toEqual(['assigned bob@example.test', 'not_believed ana@example.test']);
    expect(fresh.mails.find((m) => m.template === 'not_believed')?.data.notBelieved).toBe('the message has no DKIM signature');
    expect(fresh.withheld).toEqual([expect.stringContaining('acknowledgement: ana@example.test is an agent\'s address and the mail was not believed')]);
    const onTicket = await run({ mail, claim, existing: true });
    expect(sent(onTicket)).toEqual(['not_believed ana@example.test']);
    const again = await run({ mail, claim, existing: true, knobs: { sent: { not_believed: 1 } } });
    expect(sent(again)).toEqual([]);
    expect(again.withheld).toEqual(['not_believed to ana@example.test: one was sent within the hour']);
    expect(sent(await run({ mail, claim: { ...claim, trusted: true, reason: 'ok' }, existing: true, role: 'agent' }))).not.toContain('not_believed ana@example.test');
  });
  it('relays an agent reply to the customer and CC participants, or only the customer with replies.copyParticipants off', async () => {
    const agent = { role: 'agent' as const, existing: true, mail: { from: { address: 'ana@example.test', name: 'Ana' } }, update: {}, knobs: { participants: [{ email: 'dan@customer.test', name: null, role: 'cc' }, { email: 'bob@example.test', name: null, role: 'agent' }] } };
    const d = await run(agent);
    expect(sent(d)).toEqual(['agent_reply carla@customer.test', 'agent_reply dan@customer.test']);
    expect(d.mails[0].thread).toEqual({ inReplyTo: '<c1@customer.test>', references: ['<c1@customer.test>'] });
    const solo = { ...config, replies: { ...config.replies, copyParticipants: false } };
    expect(sent(await run({ ...agent, config: solo }))).toEqual(['agent_reply carla@customer.test']);
    expect(sent(await run({ ...agent, update: { note: true, relay: false } }))).toEqual([]);
    expect(sent(await run({ ...agent, update: { errors: ['#x: unknown command #x'], relay: false } }))).toEqual(['command_error ana@example.test']);
  });
  it('stops notifying a flooded ticket and asks for one warning', async () => {
    const d = await run({ existing: true, knobs: { recent: 20 } });
    expect(d.mails).toEqual([]);
    expect(d.floodWarning).toMatch(/more than 20 messages/);
  });
});

describe('reply subjects', () => {
  it.each([
    ['Re: AW: RV: Printer', 'Printer'],
    ['RE[2]: Fwd: WG: SV: Antw: Printer', 'Printer'],
    ['Re: [HD-12] Re: [HD-12] Printer', 'Printer'],
    ['回复: 打印机', '打印机'],
    ['Printer: broken', 'Printer: broken'],
    ['  ', '(no subject)'],
  ])('%s → %s', (subject, base) => {
    expect(baseSubject(subject, 'HD')).toBe(base);
  });
  it('tags it once', async () => {
    expect(ticketSubject('HD-12', 'Re: [HD-12] Printer', 'HD')).toBe('[HD-12] Printer');
  });
});

describe('delivery status fields', () => {
  it('reads the failed recipient of a multi-recipient report, with folded lines', async () => {
    const body = 'Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; ok@x.test\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\nFinal-Recipient: rfc822;<Gone@X.test>\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user\r\n unknown\r\n';
    expect(parseDsnFields(body)).toEqual({ recipient: 'gone@x.test', status: '5.1.1', diagnostic: '550 5.1.1 user unknown' });
  });
});
