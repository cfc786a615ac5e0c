import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { spamInput } from '../../src/spam/spam-input';
import { tokenize } from '../../src/spam/tokenize';
import { planChange } from '../../src/pipeline/changes';
import { buildMail, buildMailWithFiles } from '../helpers/mail';
import { header, lastMailTo, mailTo, type SinkMessage } from '../harness/smtp-sink';
import { AGENTS, smtpDesks, VERIFIED_BY_MTA, type Desk } from '../helpers/smtp-desk';
import { fillDatabase } from '../helpers/faults';
import { sqliteOnly } from '../helpers/test-store';
import { StoreUnavailableError } from '../../src/lib/errors';

const fx = smtpDesks();
const desk = (files: { agents?: string; rules?: string } = {}, extra = ''): Desk => fx.open({ files, extra });

const to = (address: string) => mailTo(fx.sink, address);
const last = (address: string) => lastMailTo(fx.sink, address);
const idOf = (m: SinkMessage) => header(m, 'message-id') as string;
const quote = (text: string | undefined) => (text ?? '').split('\n').map((l) => `> ${l}`).join('\n');

/** A reply as a mail client writes it: new text on top, the quoted mail below, threading headers. */
function replyTo(m: SinkMessage, from: string, top: string, extra: { headers?: Record<string, string> } = {}): Buffer {
  return buildMail({
    from,
    subject: `Re: ${m.parsed.subject}`,
    inReplyTo: idOf(m),
    references: [...(header(m, 'references') ?? '').split(/\s+/).filter(Boolean), idOf(m)],
    body: `${top}\n\nOn Mon, 23 Nov 2026 at 11:00, Support <support@example.test> wrote:\n${quote(m.parsed.text)}\n`,
    headers: extra.headers,
  });
}

const ANA = 'Ana <ana@example.test>';
const CARLA = 'Carla Customer <carla@customer.test>';

async function startTicket(d: Desk): Promise<{ assigned: SinkMessage; ack: SinkMessage }> {
  await d.ingest(buildMail({ messageId: '<c1@customer.test>', subject: 'Printer broken' }));
  await d.send();
  return { assigned: last('ana@example.test'), ack: last('carla@customer.test') };
}

const eventTypes = async (d: Desk, ref = 'HD-1') => (await d.view.showTicket(ref))?.events.map((e) => e.type) ?? [];
/** Every message of the desk of one kind, ticket by ticket in the order they were made. */
const messagesOfKind = async (d: Desk, kind: string) => {
  const all = await Promise.all((await d.view.listTickets()).reverse().map((t) => d.view.showTicket(t.ref)));
  return all.flatMap((t) => t?.messages.filter((m) => m.kind === kind) ?? []);
};

describe('a full conversation by mail', () => {
  it('relays the agent’s new text from the support address, threaded; reopens, resolves and is rated', async () => {
    const d = desk();
    const { assigned, ack } = await startTicket(d);

    // Ana answers from her client, quoting the notification.
    expect(await d.ingest(replyTo(assigned, ANA, 'Please switch it off and on again.\n\n-- \nAna Pérez, ACME support\nana@example.test'))).toMatchObject({ outcome: 'appended', ticket: 'HD-1', threadedBy: 'references' });
    await d.send();
    const relay = last('carla@customer.test');
    expect(relay).not.toBe(ack);
    expect(relay.parsed.from?.value[0]).toEqual({ address: 'support@example.test', name: 'Ana via Support' });
    expect(relay.parsed.subject).toBe('[HD-1] Printer broken');
    expect(relay.parsed.text?.startsWith('Please switch it off and on again.')).toBe(true);
    expect(relay.raw.toString()).not.toContain('ana@example.test');
    expect(relay.raw.toString()).not.toContain('#status');
    expect(header(relay, 'references')).toContain('<c1@customer.test>');
    expect(header(relay, 'references')).toContain(idOf(ack));
    expect(header(relay, 'auto-submitted')).toBeUndefined();
    let t = (await d.view.ticketByRef('HD-1'));
    expect(t?.status).toBe('open');
    expect(t?.firstResponseAt).not.toBeNull();
    const stored = (await messagesOfKind(d, 'agent_reply'));
    expect(stored.map((m) => m.text)).toEqual(['Please switch it off and on again.']);

    // Carla answers the relayed mail: it threads, Ana hears of it.
    expect(await d.ingest(replyTo(relay, CARLA, 'Did that, still broken.'))).toMatchObject({ outcome: 'appended', ticket: 'HD-1' });
    await d.send();
    const told = last('ana@example.test');
    expect(told.parsed.text).toContain('Did that, still broken.');

    // Ana fixes it and resolves with a command on top of her text.
    await d.ingest(replyTo(told, ANA, '#status resolved\nA new fuser did it.'));
    await d.send();
    const resolved = last('carla@customer.test');
    expect(resolved.parsed.text?.startsWith('A new fuser did it.')).toBe(true);
    expect(resolved.parsed.text).toContain('If it is not, just reply to this mail');
    t = (await d.view.ticketByRef('HD-1'));
    expect(t?.status).toBe('resolved');
    expect(t?.resolvedAt).not.toBeNull();

    // The customer rates: stored, and the ticket stays resolved.
    const before = fx.sink.messages.length;
    await d.ingest(replyTo(resolved, CARLA, '#rate 5 Quick and friendly'));
    t = (await d.view.ticketByRef('HD-1'));
    expect(t).toMatchObject({ status: 'resolved', rating: 5, ratingComment: 'Quick and friendly' });
    await d.send();
    expect(fx.sink.messages.slice(before).map((m) => m.to)).toEqual([['ana@example.test']]);

    // Any other reply reopens it.
    await d.ingest(replyTo(resolved, CARLA, 'It broke again this morning.'));
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('open');
    expect((await eventTypes(d))).toEqual(expect.arrayContaining(['status_changed', 'rated']));
    // Ana is told the ticket as the reply left it: open again, not resolved.
    await d.send();
    expect(last('ana@example.test').parsed.text).toMatch(/Status: +open/);
  });

  it('the resolution offers the configured rating levels; thanks alone keeps it resolved, and the agent hears so', async () => {
    const d = desk({}, 'replies: { ratings: { 1: { en: "bad" }, 2: "so-so", 3: { en: "great", es: "genial" } } }\n');
    const { assigned } = await startTicket(d);
    await d.ingest(replyTo(assigned, ANA, '#status resolved\nA new fuser did it.'));
    await d.send();
    const resolved = last('carla@customer.test');
    expect(resolved.parsed.text).toContain('Reply with #rate and a level');
    expect(resolved.parsed.text).toContain('1 bad · 2 so-so · 3 great');
    expect(resolved.parsed.text).toContain('"#rate 3 quick and clear"');
    expect(resolved.parsed.html).toContain('<strong>3</strong> great');

    // Only thanks: stored, `thanked`, still resolved; Ana is told there is nothing to do.
    const before = fx.sink.messages.length;
    await d.ingest(replyTo(resolved, CARLA, 'Thanks, that worked!\n\nCarla'));
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('resolved');
    expect((await eventTypes(d))).toContain('thanked');
    await d.send();
    expect(fx.sink.messages.slice(before).map((m) => m.to)).toEqual([['ana@example.test']]);
    const told = last('ana@example.test');
    expect(told.parsed.text).toContain('Only thanks: HD-1 stays resolved');
    expect(told.parsed.text).toMatch(/Status: +resolved/);

    // A rating by its label, with a comment; an unknown level is recorded as ignored, not guessed.
    await d.ingest(replyTo(resolved, CARLA, '#rate great, very quick'));
    expect((await d.view.ticketByRef('HD-1'))).toMatchObject({ status: 'resolved', rating: 3, ratingComment: 'very quick' });
    await d.ingest(replyTo(resolved, CARLA, '#rate 5'));
    const shown = (await d.view.showTicket('HD-1'));
    expect(shown?.rating).toMatchObject({ score: 3, comment: 'very quick' });
    expect(shown?.events.at(-1)).toMatchObject({ type: 'command_ignored', reason: expect.stringContaining('names no rating level (1 bad, 2 so-so, 3 great)') });

    // Thanks with more to say reopens, as any other reply.
    await d.ingest(replyTo(resolved, CARLA, 'Thanks, but it jams again.'));
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('open');
  });

  it('tells the customer of a resolution made without a reply to them (commands only, or tickets set), once', async () => {
    const d = desk();
    const { assigned, ack } = await startTicket(d);
    const before = to('carla@customer.test').length;
    await d.ingest(replyTo(assigned, ANA, '#status resolved\n#note\nFixed on site.'));
    await d.send();
    expect(to('carla@customer.test')).toHaveLength(before + 1);
    const notice = last('carla@customer.test');
    expect(notice.parsed.subject).toBe('[HD-1] Printer broken');
    expect(notice.parsed.text).toContain('is now resolved');
    expect(notice.parsed.text).toContain('just reply to this mail and the ticket opens again');
    expect(notice.raw.toString()).not.toContain('Fixed on site.');
    expect(header(notice, 'in-reply-to')).toBe(idOf(ack));
    // The customer's answer to the notice threads and reopens the ticket.
    expect(await d.ingest(replyTo(notice, CARLA, 'It broke again.'))).toMatchObject({ outcome: 'appended', ticket: 'HD-1' });
    const set = async (status: string) => {
      const t = await d.view.ticketByRef('HD-1');
      if (!t) throw new Error('no ticket');
      return d.staffChange(t, planChange(t, 'status', status, d.config, d.clock.now), 'cli:admin', d.clock.now, null);
    };
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('open');
    // Resolved from the command line: told the same way. Closing it afterwards tells nothing new.
    expect(await set('resolved')).toEqual({ told: [{ template: 'status_changed', to: 'carla@customer.test' }], withheld: [] });
    expect(await set('closed')).toEqual({ told: [], withheld: [] });
    await d.send();
    expect(to('carla@customer.test')).toHaveLength(before + 2);
    expect(last('carla@customer.test').parsed.text).toContain('is now resolved');
  });

  it('withholds the notice, with an event saying why, when notifications.statusChanged is off', async () => {
    const d = desk({}, 'notifications: { statusChanged: false }');
    const { assigned } = await startTicket(d);
    const before = to('carla@customer.test').length;
    await d.ingest(replyTo(assigned, ANA, '#status resolved'));
    await d.send();
    expect(to('carla@customer.test')).toHaveLength(before);
    expect((await d.view.showTicket('HD-1'))?.events.filter((e) => e.type === 'notification_withheld').map((e) => e.reason)).toEqual(['status_changed to carla@customer.test: notifications.statusChanged is off']);
  });

  it('keeps a #note from the customer and shows it to agents', async () => {
    const d = desk();
    const { assigned } = await startTicket(d);
    const before = to('carla@customer.test').length;
    await d.ingest(replyTo(assigned, ANA, '#note\nCustomer has the old model; replacement is on order.'));
    await d.send();
    expect(to('carla@customer.test')).toHaveLength(before);
    expect((await messagesOfKind(d, 'internal_note')).map((m) => m.text)).toEqual(['Customer has the old model; replacement is on order.']);
    // The next notification to an agent carries the note.
    await d.ingest(buildMail({ inReplyTo: '<c1@customer.test>', body: 'Any news?' }));
    await d.send();
    expect(last('ana@example.test').parsed.text).toContain('Customer has the old model; replacement is on order.');
    expect(to('carla@customer.test')).toHaveLength(before);
  });
});

const TRUSTED_AGENTS = AGENTS.replace('trust: { mode: from-header }', 'trust: { mode: authentication-results, authservId: mx.example.test }');

describe('agent identity', () => {
  it('gives no agent powers to a spoofed From:, nor to a header from an untrusted server; a passing one works', async () => {
    const d = desk({ agents: TRUSTED_AGENTS });
    const { assigned } = await startTicket(d);
    const attempts: Record<string, string>[] = [
      {},
      { 'Authentication-Results': 'evil.example; dkim=pass header.d=example.test; dmarc=pass header.from=example.test' },
      { 'Authentication-Results': 'mx.example.test; dkim=fail header.d=example.test; dmarc=fail header.from=example.test' },
    ];
    for (const headers of attempts) {
      await d.ingest(replyTo(assigned, ANA, '#status closed\n#note\nforged', { headers }));
      expect((await d.view.ticketByRef('HD-1'))?.status).toBe('new');
    }
    expect((await eventTypes(d)).filter((e) => e === 'trust_warning')).toHaveLength(3);
    expect((await messagesOfKind(d, 'internal_note'))).toEqual([]);

    await d.ingest(replyTo(assigned, ANA, '#status pending\n#note\nwaiting for parts', { headers: VERIFIED_BY_MTA }));
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('pending');
    expect((await messagesOfKind(d, 'internal_note'))).toHaveLength(1);
  });
});

describe('commands', () => {
  const AGENTS_TWO = `${AGENTS}  - { name: hardware, members: [bob@example.test] }\n`.replace('agents:\n', 'agents:\n  - { name: Bob, email: bob@example.test, groups: [hardware] }\n');

  it.each([
    ['#status pending', { status: 'pending' }],
    ['#STATUS   Pending', { status: 'pending' }],
    ['   #priority high', { priority: 'high' }],
    ['#severity critical', { severity: 'critical' }],
    ['#category Hardware Issues', { category: 'Hardware Issues' }],
    ['#assign bob', { assignee: 'bob@example.test' }],
    ['#assign bob@example.test', { assignee: 'bob@example.test' }],
    ['#assign hardware', { queue: 'hardware', assignee: null }],
    ['#spam', { status: 'spam' }],
  ])('%s', async (line, fields) => {
    const d = desk({ agents: AGENTS_TWO });
    const { assigned } = await startTicket(d);
    const before = fx.sink.messages.length;
    await d.ingest(replyTo(assigned, ANA, line));
    expect((await d.view.ticketByRef('HD-1'))).toMatchObject(fields);
    await d.send();
    const sent = fx.sink.messages.slice(before);
    const toCarla = sent.filter((m) => m.to.includes('carla@customer.test'));
    if ('assignee' in fields && fields.assignee) {
      // A new responsible agent: they get the ticket, and the customer hears who handles it.
      expect(toCarla.map((m) => m.parsed.text)).toEqual([expect.stringContaining('is now handled by Bob')]);
      expect(sent.filter((m) => m.to.includes('bob@example.test')).map((m) => m.parsed.text)).toEqual([expect.stringContaining('ticket HD-1 is assigned to you')]);
    } else {
      // Command-only: nothing to the customer.
      expect(toCarla).toEqual([]);
    }
    // Stored as commands, not as a reply: reports count replies that reached someone.
    expect((await messagesOfKind(d, 'agent_command')).map((m) => m.from)).toEqual(['ana@example.test']);
    expect((await d.view.showTicket('HD-1'))?.messages.filter((m) => m.from === 'ana@example.test').map((m) => m.kind)).toEqual(['agent_command']);
  });

  it('#assign me, #cc and #notspam; several commands apply together', async () => {
    const d = desk({ agents: AGENTS_TWO, rules: 'rules: []\n' });
    const { assigned } = await startTicket(d);
    await d.ingest(replyTo(assigned, 'Bob <bob@example.test>', '#assign me\n#priority low\n#cc Dan <dan@customer.test>\nWe are on it.'));
    expect((await d.view.ticketByRef('HD-1'))).toMatchObject({ assignee: 'bob@example.test', priority: 'low', status: 'open' });
    await d.send();
    expect(last('dan@customer.test').parsed.text?.startsWith('We are on it.')).toBe(true);
    expect(last('carla@customer.test').parsed.text?.startsWith('We are on it.')).toBe(true);
  });

  it('applies nothing when one command is invalid, and sends the agent one error reply', async () => {
    const d = desk();
    const { assigned } = await startTicket(d);
    const before = fx.sink.messages.length;
    await d.ingest(replyTo(assigned, ANA, '#priority high\n#status finished\n#frobnicate\nThis text must not reach the customer.'));
    expect((await d.view.ticketByRef('HD-1'))).toMatchObject({ priority: 'medium', status: 'new' });
    await d.send();
    const sent = fx.sink.messages.slice(before);
    expect(sent.map((m) => m.to)).toEqual([['ana@example.test']]);
    expect(sent[0].parsed.text).toContain('#status finished: status must be one of new, open, pending, resolved, closed, spam');
    expect(sent[0].parsed.text).toContain('#frobnicate: unknown command #frobnicate');
    expect(sent[0].parsed.text).toContain('#assign <agent|group|me>');
    expect((await eventTypes(d))).toContain('commands_rejected');
  });

  it('#answer puts a canned answer, in the customer’s language, into what they receive, around the agent’s words (issue #22)', async () => {
    const d = desk();
    const { assigned } = await startTicket(d);
    await d.ingest(replyTo(assigned, ANA, '#answer printer-reset\nHi Carla, this usually fixes it:\n\n#answer password-reset\n\nAna'));
    await d.send();
    const text = last('carla@customer.test').parsed.text ?? '';
    const parts = ['To reset the printer, Carla Customer:', 'Hi Carla, this usually fixes it:', 'follow the link we send to carla@customer.test', 'Ana'].map((p) => text.indexOf(p));
    expect(parts.every((p) => p >= 0)).toBe(true);
    expect([...parts].sort((a, b) => a - b)).toEqual(parts);
    expect(text).toContain('keep HD-1 in the subject');
    expect(text).not.toContain('#answer');
    // The stored reply is what the customer received; the history names the answers used.
    expect((await d.view.showTicket('HD-1'))?.messages.find((m) => m.kind === 'agent_reply')?.text).toContain('Hold the Cancel button');
    expect((await d.view.showTicket('HD-1'))?.events.filter((e) => e.type === 'answer_used').map((e) => e.to)).toEqual(['printer-reset', 'password-reset']);
    // In Spanish for a customer whose language is Spanish.
    await d.ingest(replyTo(assigned, ANA, '#lang es\n#answer Printer-Reset'));
    await d.send();
    expect(last('carla@customer.test').parsed.text).toContain('Para reiniciar la impresora, Carla Customer:');
  });

  it('an unknown #answer is a rejected command that lists the answers there are; nothing reaches the customer', async () => {
    const d = desk();
    const { assigned } = await startTicket(d);
    const before = fx.sink.messages.length;
    await d.ingest(replyTo(assigned, ANA, '#status resolved\nHere you go:\n#answer printer-rest'));
    await d.send();
    const sent = fx.sink.messages.slice(before);
    expect(sent.map((m) => m.to)).toEqual([['ana@example.test']]);
    expect(sent[0].parsed.text).toContain('#answer printer-rest: no answer "printer-rest" (answers: password-reset, printer-reset)');
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('new');
  });

  it('#lang sets the customer’s language: this relay and every later mail to them use it', async () => {
    const d = desk();
    const { assigned } = await startTicket(d);
    expect(await d.view.contactLocale('carla@customer.test')).toBe('en');
    await d.ingest(replyTo(assigned, ANA, '#lang es\nHola Carla, ¿puede reiniciar la impresora?'));
    await d.send();
    expect(last('carla@customer.test').parsed.text).toContain('Carla Customer escribió:');
    expect(await d.view.contactLocale('carla@customer.test')).toBe('es');
    expect((await d.view.showTicket('HD-1'))?.events.find((e) => e.type === 'language_set')).toMatchObject({ to: 'es', actor: 'agent:ana@example.test' });
    // A language we have no templates for is a rejected command, listing the ones we have.
    await d.ingest(replyTo(assigned, ANA, '#lang fr\nBonjour.'));
    await d.send();
    expect(last('ana@example.test').parsed.text).toContain('#lang fr: #lang takes one of en, es, got "fr"');
    expect(await d.view.contactLocale('carla@customer.test')).toBe('es');
  });

  it('an unsure ticket is flagged to the agent; #notspam clears it, learns ham and sends the acknowledgement held back', async () => {
    // minTrained 0 and an empty model: every message scores about 0.5, between the cutoffs.
    const d = desk({}, 'spam: { minTrained: 0 }\n');
    await d.ingest(buildMail({ messageId: '<u1@customer.test>', subject: 'Invoice question', body: 'Hello, my invoice shows the wrong address.' }));
    await d.send();
    expect(to('carla@customer.test')).toHaveLength(0);
    const assigned = last('ana@example.test');
    expect(assigned.parsed.text).toMatch(/POSSIBLE SPAM: the spam filter is unsure about this ticket \(score 0\.\d\d\)\. The customer has not been acknowledged\./);
    expect(assigned.parsed.text).toContain('Reply #notspam if it is genuine');
    expect((await d.view.listTickets())[0]).toMatchObject({ ref: 'HD-1', spamVerdict: 'unsure' });

    await d.ingest(replyTo(assigned, ANA, '#notspam'));
    await d.send();
    const ack = to('carla@customer.test');
    expect(ack).toHaveLength(1);
    expect(ack[0].parsed.text).toContain('we have received your message and opened ticket HD-1');
    expect(header(ack[0], 'in-reply-to')).toBe('<u1@customer.test>');
    expect((await d.view.listTickets())[0].spamVerdict).toBe('ham');
    expect((await d.view.spamTotals())).toEqual({ spam: 0, ham: 1 });
    expect((await d.view.showTicket('HD-1'))?.events.find((e) => e.type === 'spam_label')).toMatchObject({ from: 'unsure', to: 'ham' });
    // Once acknowledged, never again; and the flag is gone from the next notice.
    await d.ingest(replyTo(assigned, ANA, '#notspam'));
    await d.ingest(replyTo(ack[0], CARLA, 'Any news?'));
    await d.send();
    expect(to('carla@customer.test')).toHaveLength(1);
    expect(last('ana@example.test').parsed.text).not.toContain('POSSIBLE SPAM');
  });

  it('mail the mail server filed as junk that our filter calls ham is flagged to the agent with where the server put it', async () => {
    // minTrained 0, an empty model (every message scores 0.5) and a ham cutoff above that: ham.
    // The acknowledgement waits for #notspam even where unsure mail is acknowledged.
    const d = desk({}, 'spam: { minTrained: 0, hamCutoff: 0.6 }\nnotifications: { withholdAckWhenUnsure: false }\n');
    const r = await d.ingest(buildMail({ messageId: '<j1@customer.test>', subject: 'Invoice question', body: 'Hello, my invoice shows the wrong address.' }), { filedAsJunk: 'Junk' });
    expect(r).toMatchObject({ outcome: 'created', spam: 'unsure' });
    await d.send();
    expect(to('carla@customer.test')).toHaveLength(0);
    const notice = last('ana@example.test');
    expect(notice.parsed.text).toMatch(/POSSIBLE SPAM: the mail server filed this message in Junk; our filter thinks it genuine \(score 0\.50\)\. The customer has not been acknowledged\./);
    expect((await d.view.showTicket('HD-1'))?.events.find((e) => e.type === 'notification_withheld')?.reason).toBe('acknowledgement: the mail server filed this message in Junk; #notspam sends it');
    await d.ingest(replyTo(notice, ANA, '#notspam'));
    await d.send();
    expect(to('carla@customer.test')).toHaveLength(1);
    // The same message from the inbox is ham, acknowledged, and nobody is told it might be spam.
    await d.ingest(buildMail({ messageId: '<j2@customer.test>', from: 'dan@customer.test', subject: 'Invoice question', body: 'Hello, my invoice shows the wrong address.' }));
    await d.send();
    expect(to('dan@customer.test')).toHaveLength(1);
    expect(last('ana@example.test').parsed.text).not.toContain('POSSIBLE SPAM');
  });

  it('an agent’s answer teaches the filter ham when it was not sure of it, and only then', async () => {
    const d = desk({}, 'spam: { minTrained: 0 }\n');
    // Unsure (empty model, score 0.5): Ana's answer is learnt as ham, once.
    await d.ingest(buildMail({ messageId: '<l1@customer.test>', subject: 'Invoice question', body: 'Hello, my invoice shows the wrong address.' }));
    await d.send();
    const assigned = last('ana@example.test');
    await d.ingest(replyTo(assigned, ANA, 'I have corrected the address.'));
    expect((await d.view.spamTotals())).toEqual({ spam: 0, ham: 1 });
    await d.ingest(replyTo(assigned, ANA, 'And sent a new invoice.'));
    expect((await d.view.spamTotals())).toEqual({ spam: 0, ham: 1 });

    // A message the filter already scores as clear ham teaches nothing new when answered.
    const mail = buildMail({ messageId: '<l2@customer.test>', subject: 'Printer jammed', body: 'Hello, the printer on floor two jammed again this morning.' });
    const tokens = [...tokenize(spamInput(mail))];
    for (let i = 0; i < 3; i++) await d.learnSpam(`ham:${i}`, 'ham', tokens, 0);
    await d.learnSpam('spam:0', 'spam', ['viagra', 'casino', 'lottery'], 0);
    await d.ingest(mail);
    await d.send();
    expect((await d.view.ticketByRef('HD-2'))?.spamScore).toBeLessThanOrEqual(0.1);
    const before = await d.view.spamTotals();
    await d.ingest(replyTo(last('ana@example.test'), ANA, 'Fixed the jam.'));
    expect((await d.view.spamTotals())).toEqual(before);
  });

  it('ignores commands in the quoted part and below the text', async () => {
    const d = desk();
    const { assigned } = await startTicket(d);
    const reply = replyTo(assigned, ANA, 'Looking into it.\n#status closed').toString().replace('> Printer', '> #status resolved\n> Printer');
    await d.ingest(Buffer.from(reply));
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('open');
    await d.send();
    expect(last('carla@customer.test').parsed.text).toContain('Looking into it.\n#status closed');
  });

  it('#merge moves the messages into the other ticket and closes this one', async () => {
    const d = desk();
    await startTicket(d);
    await d.ingest(buildMail({ messageId: '<c2@customer.test>', subject: 'Also the scanner' }));
    await d.send();
    const assigned2 = last('ana@example.test');
    await d.ingest(replyTo(assigned2, ANA, '#merge HD-1'));
    expect((await d.view.ticketByRef('HD-2'))).toMatchObject({ status: 'closed' });
    expect((await d.view.showTicket('HD-2'))?.events.filter((e) => e.type === 'status_changed').at(-1)).toMatchObject({ from: 'new', to: 'closed', reason: '#merge into HD-1' });
    expect((await d.view.showTicket('HD-1'))?.messages.map((m) => m.subject)).toEqual(['Printer broken', 'Also the scanner', 'Re: [HD-2] Also the scanner']);
    // A later reply to the merged ticket's mail lands in HD-1.
    expect(await d.ingest(buildMail({ inReplyTo: '<c2@customer.test>', body: 'and the fax' }))).toMatchObject({ ticket: 'HD-1' });
  });

  it('#merge into a ticket merged before lands where it lives now; one that would close both is refused; a tag of a merged ticket follows it', async () => {
    const d = desk();
    for (const [i, from] of [[1, 'carla@customer.test'], [2, 'dan@customer.test'], [3, 'erin@customer.test']] as const) {
      await d.ingest(buildMail({ from, messageId: `<m${i}@customer.test>`, subject: `Problem ${i}` }));
    }
    const command = (ref: string, body: string) => d.ingest(buildMail({ from: ANA, subject: `Re: [${ref}] Problem`, body }));
    await command('HD-1', '#merge HD-2');
    // HD-1 lives in HD-2 now: HD-3 goes there, not into the closed HD-1.
    await command('HD-3', '#merge HD-1');
    expect((await d.view.showTicket('HD-2'))?.messages.map((m) => m.subject)).toEqual(expect.arrayContaining(['Problem 1', 'Problem 2', 'Problem 3']));
    expect((await d.view.showTicket('HD-1'))?.messages).toHaveLength(0);
    // HD-2 into HD-1 would leave both closed, each merged into the other.
    await command('HD-2', '#merge HD-1');
    expect(await d.view.ticketByRef('HD-2')).toMatchObject({ status: 'new', mergedInto: null });
    expect((await d.view.showTicket('HD-2'))?.events.filter((e) => e.type === 'commands_rejected').map((e) => e.reason)).toEqual(['#merge HD-1: #merge: HD-1 was merged into HD-2 already']);
    // Carla's next mail, with the tag of her merged ticket, joins the conversation where it went on.
    const r = await d.ingest(buildMail({ from: 'carla@customer.test', subject: '[HD-1] any news?', body: 'Still broken.' }));
    expect(r).toMatchObject({ outcome: 'appended', ticket: 'HD-2', threadedBy: 'tag' });
    expect(r.reason).toContain('(HD-1 was merged into HD-2)');
  });

  it('#time records the time spent, for the reports', async () => {
    const d = desk();
    const { assigned } = await startTicket(d);
    await d.ingest(replyTo(assigned, ANA, '#time 1h 30m'));
    await d.ingest(replyTo(assigned, ANA, '#time soon'));
    await d.ingest(replyTo(assigned, ANA, '#time 150h')); // 1h50m mistyped: 6 days, in the reports
    const events = (await d.view.showTicket('HD-1'))?.events ?? [];
    expect(events.filter((e) => e.type === 'time_spent').map((e) => e.to)).toEqual(['90']);
    expect(events.filter((e) => e.type === 'commands_rejected').map((e) => e.reason)).toEqual([
      '#time soon: #time needs a duration such as 30m or 1h30m, got "soon"',
      '#time 150h: #time takes at most 24h for one reply, got "150h"',
    ]);
  });

  it('#cc refuses the desk\'s own address, automatic addresses and more people than limits.maxParticipants', async () => {
    const d = desk({}, 'limits: { maxParticipants: 3 }\n');
    const { assigned } = await startTicket(d); // the customer is the first
    const rejected = async (top: string) => {
      await d.ingest(replyTo(assigned, ANA, `${top}\nThanks, looking into it.`));
      return (await d.view.showTicket('HD-1'))?.events.filter((e) => e.type === 'commands_rejected').at(-1)?.reason;
    };
    expect(await rejected('#cc support@example.test')).toBe('#cc support@example.test: #cc: support@example.test is the desk\'s own address');
    expect(await rejected('#cc noreply@shop.test')).toBe('#cc noreply@shop.test: #cc: noreply@shop.test is an automatic address; nobody reads mail sent to it');
    expect(await rejected('#cc dan@customer.test\n#cc eve@customer.test\n#cc fay@customer.test')).toBe('#cc fay@customer.test: #cc: HD-1 has 3 people on it, limits.maxParticipants');
    await d.ingest(replyTo(assigned, ANA, '#cc dan@customer.test\n#cc Dan <dan@customer.test>\n#cc eve@customer.test\nThanks.'));
    expect((await d.view.showTicket('HD-1'))?.participants.map((p) => p.email).sort()).toEqual(['carla@customer.test', 'dan@customer.test', 'eve@customer.test']);
    expect(await rejected('#cc fay@customer.test')).toBe('#cc fay@customer.test: #cc: HD-1 has 3 people on it, limits.maxParticipants');
  });

  it('#spam and #notspam teach the spam filter', async () => {
    const d = desk();
    const { assigned } = await startTicket(d);
    await d.ingest(replyTo(assigned, ANA, '#spam'));
    expect((await d.view.spamTotals())).toEqual({ spam: 1, ham: 0 });
    await d.ingest(replyTo(assigned, ANA, '#notspam'));
    expect((await d.view.spamTotals())).toEqual({ spam: 0, ham: 1 });
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('open');
    // Both are in the history with the status each moved: spam, then open again.
    const history = ((await d.view.showTicket('HD-1'))?.events ?? []).filter((e) => e.type === 'spam_label' || (e.type === 'status_changed' && (e.to === 'spam' || e.from === 'spam')));
    expect(history.map((e) => `${e.type} ${e.from ?? ''}→${e.to}`)).toEqual(['status_changed new→spam', 'spam_label ham→spam', 'status_changed spam→open', 'spam_label spam→ham']);
    // #notspam on a ticket that is not spam changes no status, and still says what it taught.
    await d.ingest(replyTo(assigned, ANA, '#notspam'));
    expect((await d.view.showTicket('HD-1'))?.events.at(-1)).toMatchObject({ type: 'spam_label', to: 'ham', reason: '#notspam: learnt as ham' });
  });
});

describe('a lesson from staff and the message that teaches it', () => {
  afterEach(() => jest.restoreAllMocks());

  sqliteOnly('are stored together or not at all: a store failure while learning leaves the message to be offered again', async () => {
    const d = desk();
    // A first mail of many distinct words: its lesson needs new pages of the database.
    const words = Array.from({ length: 3000 }, (_, i) => `w${i.toString(36)}${randomBytes(3).toString('hex')}`).join(' ');
    await d.ingest(buildMail({ messageId: '<c1@customer.test>', subject: 'Printer broken', body: words }));
    await d.send();
    const assigned = last('ana@example.test');
    const before = await d.view.listInbound();
    // The lesson's first step reads the ticket's first mail: right then the database fills up.
    const read = d.store.blobs.read.bind(d.store.blobs);
    let filled: { release(): void } | null = null;
    jest.spyOn(d.store.blobs, 'read').mockImplementation((relative) => {
      filled ??= fillDatabase(d.store);
      return read(relative);
    });
    const spam = replyTo(assigned, ANA, '#spam');
    await expect(d.ingest(spam)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(filled).not.toBeNull();
    // Nothing of the agent's reply stands without its lesson: offered again, it does both.
    expect(await d.view.listInbound()).toEqual(before);
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('new');
    expect(await d.view.spamTotals()).toEqual({ spam: 0, ham: 0 });
    filled!.release();
    expect(await d.ingest(spam)).toMatchObject({ outcome: 'appended', ticket: 'HD-1' });
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('spam');
    expect(await d.view.spamTotals()).toEqual({ spam: 1, ham: 0 });
  });

  sqliteOnly('a lesson that cannot be learnt for a reason of its own leaves the message stored, and says why', async () => {
    const d = desk();
    const { assigned } = await startTicket(d);
    // The customer's first mail, which the lesson learns, is gone from the data folder.
    const first = d.store.sqlite.prepare('select raw_path from inbound order by id limit 1').pluck().get() as string;
    await d.store.blobs.flushed();
    rmSync(path.join(d.dataDir, first));
    const r = await d.ingest(replyTo(assigned, ANA, '#spam'));
    expect(r).toMatchObject({ outcome: 'appended', ticket: 'HD-1', lesson: { failed: expect.stringMatching(/ENOENT/) } });
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('spam');
    expect(await d.view.spamTotals()).toEqual({ spam: 0, ham: 0 });
    expect((await d.view.showTicket('HD-1'))?.events.at(-1)).toMatchObject({ type: 'spam_lesson_failed', to: 'spam', reason: expect.stringMatching(/^#spam: not learnt \(.*ENOENT/) });
  });
});

describe('customers', () => {
  it('#close closes the ticket; a reply long after closing opens a new, linked ticket', async () => {
    const d = desk();
    const { ack } = await startTicket(d);
    await d.ingest(replyTo(ack, CARLA, '#close\nAll good now, thanks.'));
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('closed');
    d.clock.now += 20 * 86_400_000;
    const r = await d.ingest(replyTo(ack, CARLA, 'The printer is broken again.'));
    expect(r).toMatchObject({ outcome: 'created', ticket: 'HD-2' });
    expect(r.reason).toMatch(/closed more than 14 days ago/);
    expect((await eventTypes(d, 'HD-2'))).toContain('linked');
  });

  it('a stranger cannot close someone else’s ticket', async () => {
    const d = desk();
    const { ack } = await startTicket(d);
    await d.ingest(replyTo(ack, 'Mallory <mallory@evil.test>', '#close'));
    expect((await d.view.ticketByRef('HD-1'))?.status).not.toBe('closed');
  });
});

describe('agent forwards', () => {
  /** Ana's mail to the desk: her `text`, and `inner` attached as message/rfc822. */
  const forwardAttached = (m: { subject: string; messageId: string; text: string; inner: string; filename?: string }) =>
    Buffer.from(
      [
        'From: Ana <ana@example.test>',
        'To: support@example.test',
        `Subject: ${m.subject}`,
        'Date: Mon, 23 Nov 2026 10:00:00 +0000',
        `Message-ID: ${m.messageId}`,
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="X"',
        '',
        '--X',
        'Content-Type: text/plain',
        '',
        m.text,
        '--X',
        'Content-Type: message/rfc822',
        ...(m.filename ? [`Content-Disposition: attachment; filename="${m.filename}"`] : []),
        '',
        m.inner,
        '--X--',
        '',
      ].join('\r\n'),
    );

  it('creates the ticket for the original sender of an inline forward', async () => {
    const d = desk({ rules: 'rules: []\n' });
    const fwd = buildMail({
      from: ANA,
      subject: 'Fwd: Invoice 2231 is wrong',
      body: 'Can someone take this?\n\n---------- Forwarded message ---------\nFrom: Frank Customer <frank@customer.test>\nDate: Mon, Nov 23, 2026 at 9:00 AM\nSubject: Invoice 2231 is wrong\nTo: Ana <ana@example.test>\n\nHello, invoice 2231 charges us twice.\n',
    });
    expect(await d.ingest(fwd)).toMatchObject({ outcome: 'created', ticket: 'HD-1' });
    const t = (await d.view.showTicket('HD-1'));
    expect(t).toMatchObject({ customer: 'frank@customer.test', subject: 'Invoice 2231 is wrong' });
    expect(t?.messages[0]).toMatchObject({ from: 'frank@customer.test', kind: 'customer' });
    expect(t?.messages[0].text).toContain('invoice 2231 charges us twice');
    expect((await eventTypes(d))).toContain('forwarded');
  });

  it('creates the ticket for the sender of a message attached as message/rfc822', async () => {
    const d = desk({ rules: 'rules: []\n' });
    const inner = buildMail({ from: 'Grace <grace@customer.test>', to: 'ana@example.test', subject: 'VPN down', body: 'The VPN refuses my password.' }).toString();
    await d.ingest(forwardAttached({ subject: 'Fwd: VPN down', messageId: '<fwd-1@example.test>', text: 'Forwarding as attachment.', inner, filename: 'VPN down.eml' }));
    const t = (await d.view.showTicket('HD-1'));
    expect(t).toMatchObject({ customer: 'grace@customer.test', subject: 'VPN down' });
    expect(t?.messages[0].text).toContain('The VPN refuses my password.');
    await d.send();
    expect(to('grace@customer.test')).toHaveLength(1); // the acknowledgement goes to the customer
    expect(await d.view.listTickets()).toHaveLength(1);
    expect(await d.view.listEvents({ type: 'forwarded' })).toHaveLength(1);
  });

  it('keeps a forward whose attached message cannot be read as the agent’s ticket, with the attachment and the reason', async () => {
    const d = desk({ rules: 'rules: []\n' });
    // Bytes that are no mail at all, and a mail past the parser's limit on parts.
    const parts = Array.from({ length: 3000 }, (_, i) => `--c\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('');
    const unreadable = ['\u0001\u0002 not a mail \u00ff', `From: grace@customer.test\r\nSubject: many parts\r\nContent-Type: multipart/mixed; boundary="c"\r\n\r\n${parts}--c--`];
    for (const [i, inner] of unreadable.entries()) {
      const result = await d.ingest(forwardAttached({ subject: `Fwd: strange mail ${i + 1}`, messageId: `<fwd-bad-${i + 1}@example.test>`, text: 'Look at what this customer sent.', inner }));
      expect(result.outcome).toBe('created');
      const t = await d.view.showTicket(`HD-${i + 1}`);
      expect(t).toMatchObject({ customer: 'ana@example.test', subject: `Fwd: strange mail ${i + 1}` });
      expect(t?.messages[0].text).toContain('Look at what this customer sent.');
      expect(t?.messages[0].attachments.map((a) => a.contentType)).toEqual(['message/rfc822']);
      expect(t?.events.find((e) => e.type === 'forward_unread')?.reason).toMatch(/^the forwarded message could not be read \((not an email message|Max allowed child nodes).*\); the ticket is the agent's/);
    }
    expect(await d.view.listEvents({ type: 'forwarded' })).toHaveLength(0);
  });
});

describe('attachments travel both ways', () => {
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(30_000)]);
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(5_000)]);
  const files = (m: SinkMessage) => m.parsed.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, cid: a.cid ?? null, disposition: a.contentDisposition, same: a.content.equals(a.filename === 'invoice.pdf' ? pdf : png) }));

  it('the agent’s files reach the customer byte for byte, the inline image with its Content-ID; the customer’s reach the agent', async () => {
    const d = desk();
    // The customer's screenshot and invoice go to the assigned agent.
    await d.ingest(buildMailWithFiles({ from: CARLA, subject: 'Printer broken', messageId: '<cf@customer.test>', text: 'See the error.', pdf, png }));
    await d.send();
    const assigned = last('ana@example.test');
    expect(files(assigned).sort((a, b) => String(a.filename).localeCompare(String(b.filename)))).toEqual([
      { filename: 'invoice.pdf', contentType: 'application/pdf', cid: null, disposition: 'attachment', same: true },
      { filename: 'screenshot.png', contentType: 'image/png', cid: 'shot@client.test', disposition: 'inline', same: true },
    ]);
    expect(assigned.parsed.text).toMatch(/Attachments:\n- screenshot\.png \(4\.9 KB\) — attached\n- invoice\.pdf \(29\.3 KB\) — attached/);
    expect(assigned.parsed.html).toContain('<img src="cid:shot@client.test" alt="screenshot.png"');

    // Ana answers with files of her own: the relay carries them.
    await d.ingest(buildMailWithFiles({ from: ANA, subject: `Re: ${assigned.parsed.subject}`, messageId: '<af@example.test>', inReplyTo: idOf(assigned), references: [idOf(assigned)], text: 'Here is the corrected invoice.', pdf, png }));
    await d.send();
    const relay = last('carla@customer.test');
    expect(relay.parsed.text?.startsWith('Here is the corrected invoice.')).toBe(true);
    // The image pasted into Ana's html still shows in the customer's client: referenced by its Content-ID.
    expect(relay.parsed.html).toContain('<img src="cid:shot@client.test" alt="screenshot.png"');
    expect(files(relay).sort((a, b) => String(a.filename).localeCompare(String(b.filename)))).toEqual([
      { filename: 'invoice.pdf', contentType: 'application/pdf', cid: null, disposition: 'attachment', same: true },
      { filename: 'screenshot.png', contentType: 'image/png', cid: 'shot@client.test', disposition: 'inline', same: true },
    ]);
  });

  it('lists what is over notifications.attachToAgents instead of attaching it', async () => {
    const d = fx.open({ extra: 'notifications: { attachToAgents: 10KB }\n' });
    await d.ingest(buildMailWithFiles({ from: CARLA, subject: 'Printer broken', messageId: '<cl@customer.test>', text: 'See the error.', pdf, png }));
    await d.send();
    const assigned = last('ana@example.test');
    expect(files(assigned).map((f) => f.filename)).toEqual(['screenshot.png']);
    expect(assigned.parsed.text).toContain('- invoice.pdf (29.3 KB) — not attached: over notifications.attachToAgents; kept on the ticket');
  });
});
