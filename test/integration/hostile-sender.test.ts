/**
 * Issue #17: what a hostile sender tried on the shipped code, end to end through the pipeline
 * on a real SQLite file (or PostgreSQL: test-store.ts), with the outbox sent to a real SMTP server. Each test failed on the
 * code before its fix.
 */
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth/lib/dkim/sign';
import type { DnsResolver } from '../../src/pipeline/trust';
import { planChange } from '../../src/pipeline/changes';
import { buildDsn, buildMail } from '../helpers/mail';
import { header, lastMailTo, mailTo, type SinkMessage } from '../harness/smtp-sink';
import { AGENTS, smtpDesks, VERIFIED_BY_MTA, type Desk } from '../helpers/smtp-desk';
import { createIntake } from '../../src/intake/intake';
import { sqliteIntakeStore } from '../../src/intake/intake-store';
import { silentLogger } from '../../src/lib/log';
import { waitFor } from '../helpers/cli';
import { openTestDesk } from '../helpers/env';
import { sqliteOnly } from '../helpers/test-store';

const fx = smtpDesks();
const AR_AGENTS = AGENTS.replace('trust: { mode: from-header }', 'trust: { mode: authentication-results, authservId: mx.example.test }');
const DKIM_AGENTS = AGENTS.replace('trust: { mode: from-header }', 'trust: { mode: dkim }');
const ANA = 'Ana <ana@example.test>';
const CARLA = 'carla@customer.test';

const to = (address: string) => mailTo(fx.sink, address);
const last = (address: string) => lastMailTo(fx.sink, address);
const idOf = (m: SinkMessage) => header(m, 'message-id') as string;
const ticket = (d: Desk, ref = 'HD-1') => d.view.showTicket(ref);
const events = async (d: Desk, ref = 'HD-1') => (await ticket(d, ref))?.events.map((e) => e.type) ?? [];
const participants = async (d: Desk, ref = 'HD-1') => (await ticket(d, ref))?.participants.map((p) => p.email) ?? [];

async function startTicket(d: Desk, spec: Parameters<typeof buildMail>[0] = {}): Promise<{ assigned: SinkMessage; ack: SinkMessage }> {
  await d.ingest(buildMail({ messageId: '<c1@customer.test>', subject: 'Printer broken', ...spec }));
  await d.send();
  return { assigned: last('ana@example.test'), ack: last(CARLA) };
}

/** Ana's reply to the mail she was sent, with extra headers. */
const anaReply = (m: SinkMessage, body: string, headers: Record<string, string> = {}) =>
  buildMail({ from: ANA, subject: `Re: ${m.parsed.subject}`, inReplyTo: idOf(m), references: [idOf(m)], body, headers });

describe('agent impersonation (item 1)', () => {
  it.each([
    ['a pass inside a quoted local part', 'mx.example.test; spf=pass smtp.mailfrom="x; dkim=pass header.d=example.test ;"@evil.example; dkim=none; dmarc=fail header.from=example.test'],
    ['a pass inside a nested comment', 'mx.example.test; dkim=fail (bad sig (x) ; dkim=pass header.d=example.test ) header.d=example.test'],
  ])('%s gives no agent powers and relays nothing as the agent', async (_what, value) => {
    const d = fx.open({ files: { agents: AR_AGENTS } });
    const { assigned } = await startTicket(d);
    const before = to(CARLA).length;
    await d.ingest(anaReply(assigned, '#status closed\n#priority low\nAll fixed, closing.', { 'Authentication-Results': value }));
    await d.send();
    expect((await d.view.ticketByRef('HD-1'))).toMatchObject({ status: 'new', priority: 'medium' });
    expect((await events(d))).toContain('trust_warning');
    expect(to(CARLA).slice(before).map((m) => m.parsed.from?.value[0].name)).not.toContain('Ana via Support');
  });
});

describe('a customer’s address spoofed (authentication-results mode)', () => {
  it('a mail our MTA found failing DMARC for the customer’s domain gets no participant’s powers: no tag, no #close, nobody added', async () => {
    const d = fx.open({ files: { agents: AR_AGENTS } });
    const { ack } = await startTicket(d);
    const failed = { 'Authentication-Results': 'mx.example.test; spf=fail smtp.mailfrom=evil.test; dkim=none; dmarc=fail header.from=customer.test' };
    const r = await d.ingest(buildMail({ subject: 'Re: [HD-1] Printer broken', cc: 'Mallory <mallory@evil.test>', body: '#close\nPlease add my colleague.', headers: failed }));
    expect(r).toMatchObject({ outcome: 'created', ticket: 'HD-2', threadedBy: 'new' });
    expect(r.reason).toContain('carla@customer.test is not believed (mx.example.test reports dmarc=fail for customer.test)');
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('new');
    expect((await participants(d))).toEqual([CARLA]);
    expect((await participants(d, 'HD-2'))).toEqual([CARLA]);
    expect((await ticket(d, 'HD-2'))?.events.filter((e) => e.type === 'trust_warning').map((e) => e.reason)).toEqual([expect.stringContaining('not believed to come from that address: mx.example.test reports dmarc=fail for customer.test')]);
    // Nor is Carla acknowledged a mail she did not write (its subject would reach her from us).
    await d.send();
    expect(to(CARLA)).toEqual([ack]);
    expect((await ticket(d, 'HD-2'))?.events.filter((e) => e.type === 'notification_withheld').map((e) => e.reason)).toEqual(['acknowledgement: carla@customer.test is not believed to have written this (mx.example.test reports dmarc=fail for customer.test)']);

    // Carla's own reply to her acknowledgement, which passes, still does all of it.
    const passed = { 'Authentication-Results': 'mx.example.test; spf=pass smtp.mailfrom=customer.test; dmarc=pass header.from=customer.test' };
    await d.ingest(buildMail({ subject: 'Re: [HD-1] Printer broken', inReplyTo: idOf(ack), cc: 'Dan <dan@customer.test>', body: '#close\nAdding Dan.', headers: passed }));
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('closed');
    expect((await participants(d)).sort()).toEqual([CARLA, 'dan@customer.test']);
  });

  // DMARC judges the From; a mail without a usable one gets no dmarc=fail, and the desk answers
  // the address it found in another field instead. That address proves nothing.
  it.each([
    ['no From, the customer in Sender', (mail: string) => mail.replace(/^From: .*\r\n/m, `Sender: ${CARLA}\r\n`), 'Sender'],
    ['a From of a group with no address, the customer in Reply-To', (mail: string) => mail.replace(/^From: .*\r\n/m, `From: undisclosed-recipients:;\r\nReply-To: ${CARLA}\r\n`), 'Reply-To'],
    ['an empty From, the customer in a second one', (mail: string) => mail.replace(/^From: .*\r\n/m, `From: <>\r\nFrom: ${CARLA}\r\n`), 'a second From'],
  ])('%s gets no participant’s powers', async (_what, shape, field) => {
    const d = fx.open({ files: { agents: AR_AGENTS } });
    await startTicket(d);
    const none = { 'Authentication-Results': 'mx.example.test; spf=pass smtp.mailfrom=evil.test; dkim=none; dmarc=none' };
    const r = await d.ingest(Buffer.from(shape(buildMail({ subject: 'Re: [HD-1] Printer broken', cc: 'Mallory <mallory@evil.test>', body: '#close\nPlease add my colleague.', headers: none }).toString())));
    expect(r).toMatchObject({ outcome: 'created', ticket: 'HD-2', threadedBy: 'new' });
    expect(r.reason).toContain(`carla@customer.test is not believed (the address is the message's ${field}, not its From`);
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('new');
    expect((await participants(d))).toEqual([CARLA]);
    await d.send();
    expect(to(CARLA)).toHaveLength(1); // HD-1's acknowledgement only
  });

  it('an agent’s address in Sender, for want of a From, is no agent, whatever passes', async () => {
    const d = fx.open({ files: { agents: AR_AGENTS } });
    const { assigned } = await startTicket(d);
    const before = to(CARLA).length;
    const passes = { 'Authentication-Results': 'mx.example.test; spf=pass smtp.mailfrom=example.test; dkim=pass header.d=example.test; dmarc=none' };
    const reply = anaReply(assigned, '#status closed\nAll fixed, closing.', passes).toString().replace(/^From: .*\r\n/m, `Sender: ${ANA}\r\n`);
    await d.ingest(Buffer.from(reply));
    await d.send();
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('new');
    expect((await ticket(d))?.events.filter((e) => e.type === 'trust_warning').map((e) => e.reason)).toEqual([expect.stringContaining("the address is the message's Sender, not its From")]);
    expect(to(CARLA).slice(before).map((m) => m.parsed.from?.value[0].name)).not.toContain('Ana via Support');
  });
});

describe('trust.mode: dkim (item 1)', () => {
  const keyFor = () => generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const ours = keyFor();
  const theirs = keyFor();
  const records: Record<string, string> = {
    's1._domainkey.example.test': `v=DKIM1; k=rsa; p=${ours.publicKey.toString('base64')}`,
    's1._domainkey.evil.example': `v=DKIM1; k=rsa; p=${theirs.publicKey.toString('base64')}`,
  };
  const lookups: string[] = [];
  // The stub answers as the system resolver does: TXT records as arrays of strings, ENOTFOUND otherwise.
  const resolver: DnsResolver = async (name, rrtype) => {
    lookups.push(`${rrtype} ${name}`);
    const txt = rrtype === 'TXT' ? records[name] : undefined;
    if (txt) return [[txt]];
    throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  };
  const sign = async (raw: Buffer, domain: string, privateKey: string, more: { maxBodyLength?: number; headerList?: string } = {}) => {
    // mailauth 4 reads the keys from signatureData (its typings describe a later version).
    const key = { signingDomain: domain, selector: 's1', privateKey, maxBodyLength: more.maxBodyLength };
    // headerList too: mailauth 4 takes it as a colon-separated string, its typings as an array.
    const headerList = more.headerList as unknown as string[] | undefined;
    const { signatures, errors } = await dkimSign(raw, { ...key, canonicalization: 'relaxed/relaxed', signatureData: [key], ...(headerList ? { headerList } : {}) });
    if (errors.length > 0 || !signatures.startsWith('DKIM-Signature:')) throw errors[0] ?? new Error('not signed');
    return Buffer.concat([Buffer.from(signatures), raw]);
  };

  it('trusts a reply signed with the agent domain’s key; not a tampered, foreign, unsigned or twice-From one', async () => {
    const d = fx.open({ files: { agents: DKIM_AGENTS, dnsResolver: resolver } });
    const { assigned } = await startTicket(d);

    const tampered = (await sign(anaReply(assigned, '#priority low\nsigned text'), 'example.test', ours.privateKey)).toString().replace('signed text', 'other text');
    const twoFroms = await sign(anaReply(assigned, '#priority low\nx'), 'example.test', ours.privateKey);
    const attempts: [string, Buffer][] = [
      ['unsigned', anaReply(assigned, '#priority low\nx')],
      ['tampered', Buffer.from(tampered)],
      ['signed by another domain', await sign(anaReply(assigned, '#priority low\nx'), 'evil.example', theirs.privateKey)],
      ['a second From on top', Buffer.concat([Buffer.from('From: Mallory <ana@example.test>\r\n'), twoFroms])],
    ];
    for (const [what, raw] of attempts) {
      await d.ingest(raw);
      expect([what, (await d.view.ticketByRef('HD-1'))?.priority]).toEqual([what, 'medium']);
    }
    expect((await events(d)).filter((e) => e === 'trust_warning')).toHaveLength(4);
    const reasons = (await ticket(d))?.events.filter((e) => e.type === 'trust_warning').map((e) => e.reason) ?? [];
    expect(reasons).toEqual([
      expect.stringContaining('the message has no DKIM signature'),
      expect.stringContaining('no passing DKIM signature of example.test (example.test: neutral (body hash did not verify)'),
      expect.stringContaining('no passing DKIM signature of example.test (evil.example: pass'),
      expect.stringContaining('more than one From header'),
    ]);
    // Ana hears of it, once within the hour: a reply of hers lost this way would not go unnoticed.
    await d.send();
    const notices = to('ana@example.test').filter((m) => m.parsed.subject === '[HD-1] A mail in your name was not taken as yours');
    expect(notices).toHaveLength(1);
    expect(notices[0].parsed.text).toContain('was not taken as yours: the message has no DKIM signature.');

    await d.ingest(await sign(anaReply(assigned, '#priority low\nPlease try the new driver.'), 'example.test', ours.privateKey));
    await d.send();
    expect((await d.view.ticketByRef('HD-1'))?.priority).toBe('low');
    expect(last(CARLA).parsed.from?.value[0]).toEqual({ address: 'support@example.test', name: 'Ana via Support' });
    expect(lookups).toContain('TXT s1._domainkey.example.test');
  });
  it('a signed mail of Ana’s, replayed with fields added on top or where the signature does not reach, acts on no other ticket and adds nobody', async () => {
    const d = fx.open({ files: { agents: DKIM_AGENTS, dnsResolver: resolver } });
    await startTicket(d);
    const { assigned: second } = await startTicket(d, { messageId: '<d1@customer.test>', from: 'Dave <dave@customer.test>', subject: 'Scanner jammed' });
    const secondId = idOf(second);
    const daveBefore = to('dave@customer.test').length;
    // Mallory holds mail Ana signed (her reply on HD-1, a note she once sent Mallory directly).
    const onHd1 = await sign(anaReply(last('ana@example.test'), '#status closed\nAll done here.'), 'example.test', ours.privateKey);
    const direct = await sign(buildMail({ from: ANA, to: 'mallory@evil.test', subject: 'Your order', messageId: '<direct@example.test>', body: '#status closed\nAll done here.' }), 'example.test', ours.privateKey);
    const partly = await sign(anaReply(second, 'Please try the new driver.'), 'example.test', ours.privateKey, { maxBodyLength: 30 });
    const aimed = `In-Reply-To: ${secondId}\r\nReferences: ${secondId}\r\nCc: mallory@evil.test\r\n`;
    const replays: [string, Buffer][] = [
      ['routing fields on top of a signed reply to HD-1', Buffer.concat([Buffer.from(`Subject: Re: [HD-2] Scanner jammed\r\n${aimed}Message-ID: <r1@evil.test>\r\n`), onHd1])],
      ['routing fields the signature of a direct mail never signed', Buffer.concat([Buffer.from(aimed), direct])],
      ['text after a body signed in part (l=)', Buffer.from(`${partly.toString().trimEnd()}\r\nAnd pay the invoice to IBAN XX00 EVIL today.\r\n`)],
    ];
    for (const [what, raw] of replays) {
      await d.ingest(raw);
      expect([what, (await d.view.ticketByRef('HD-2'))?.status, await participants(d, 'HD-2')]).toEqual([what, 'new', ['dave@customer.test']]);
    }
    await d.send();
    expect(to('dave@customer.test').length).toBe(daveBefore); // no reply relayed in Ana's name
    const warnings = (await ticket(d, 'HD-2'))?.events.filter((e) => e.type === 'trust_warning').map((e) => e.reason) ?? [];
    expect(warnings).toEqual([expect.stringContaining('more than one Subject header'), expect.stringContaining('signs only the start of the body (l=)')]);

    // Ana's own signed reply to HD-2, untouched, still acts.
    await d.ingest(await sign(anaReply(second, '#priority low\nPlease try the new driver.'), 'example.test', ours.privateKey));
    expect((await d.view.ticketByRef('HD-2'))?.priority).toBe('low');
    // Signed as Microsoft 365 signs (From, Date, Subject, Message-ID only): it acts by the
    // subject's tag, and the Cc it carries, unsigned, joins nobody.
    const m365 = await sign(anaReply(second, '#priority high\nCopying Erin.', { Cc: 'erin@customer.test' }), 'example.test', ours.privateKey, { headerList: 'from:date:subject:message-id' });
    const r = await d.ingest(m365);
    expect(r).toMatchObject({ ticket: 'HD-2', threadedBy: 'tag' });
    expect(r.reason).toContain("the agent's not signed, so not acted on: To, Cc, In-Reply-To, References");
    expect((await d.view.ticketByRef('HD-2'))?.priority).toBe('high');
    expect(await participants(d, 'HD-2')).toEqual(['dave@customer.test']);
  });

  // The intake itself (the daemon's, on the SQLite store it shares with the outbox worker and the jobs).
  sqliteOnly('an agent’s mail whose DKIM key is slow to come from DNS holds no other writer up, and is still believed', async () => {
    const desk = openTestDesk({ 'agents.yaml': DKIM_AGENTS });
    let answer: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (answer = resolve));
    const asked: string[] = [];
    const slowResolver: DnsResolver = async (name, rrtype) => {
      asked.push(name);
      await slow;
      return resolver(name, rrtype);
    };
    const raw = await sign(buildMail({ from: ANA, subject: 'A ticket of my own', messageId: '<own@example.test>', body: '#priority low\nPlease order toner.' }), 'example.test', ours.privateKey);
    const intake = createIntake({ store: sqliteIntakeStore(desk.store), config: () => desk.config, log: silentLogger(), parseAhead: false, dnsResolver: slowResolver });
    try {
      const pass = intake.run([{ raw: { bytes: raw, source: 'test', position: null, mailbox: 'support' }, ack: () => undefined }]);
      await waitFor(() => asked.length > 0 || undefined, 5000, 'the DNS lookup');
      // The outbox worker, a job or an MTA's `helpdesk ingest` asks for the store meanwhile.
      const other = desk.store.turn(async () => 'written');
      const first = await Promise.race([other, new Promise((resolve) => setTimeout(() => resolve('still waiting for the turn'), 2000))]);
      answer();
      expect(first).toBe('written');
      expect(await pass).toEqual({ acknowledged: 1, failure: null });
      const t = await desk.view.showTicket('HD-1');
      expect(t?.events.map((e) => e.type)).not.toContain('trust_warning');
      expect(asked).toEqual(['s1._domainkey.example.test']);
    } finally {
      answer();
      await intake.close();
      desk.close();
    }
  });
});

describe('the desk as a reflector', () => {
  it('acknowledges a first mail without quoting it back (anyone can write any From:); once an agent has answered the address, it quotes', async () => {
    const d = fx.open({ files: { agents: AGENTS } });
    // Mallory writes victim@… in From: with her advertisement as the text.
    await d.ingest(buildMail({ from: 'victim@customer.test', subject: 'Question', body: 'Cheap watches at http://watches.example/' }));
    await d.send();
    const ack = last('victim@customer.test');
    expect(ack.parsed.subject).toBe('[HD-1] Question');
    expect(`${ack.parsed.text}${ack.parsed.html}`).not.toContain('watches');

    // A real conversation: Ana answers Carla; Carla's next new ticket is quoted back to her.
    const { assigned } = await startTicket(d);
    await d.ingest(anaReply(assigned, 'Please try the new driver.'));
    await d.send();
    await d.ingest(buildMail({ subject: 'Scanner too', body: 'The scanner is broken as well.' }));
    await d.send();
    expect(last(CARLA).parsed.subject).toBe('[HD-3] Scanner too');
    expect(last(CARLA).parsed.text).toContain('The scanner is broken as well.');
  });
});

describe('a Message-ID learnt early', () => {
  it('two senders with one Message-ID on two tickets: replies naming it are threaded onto neither', async () => {
    const d = fx.open({});
    // Mallory learns Carla's Message-ID before the desk has her mail (a copy sent to her while
    // delivery to the desk is delayed) and writes first with it.
    await d.ingest(buildMail({ from: 'Mallory <mallory@evil.test>', messageId: '<c2@customer.test>', subject: 'Hello' }));
    expect(await d.ingest(buildMail({ messageId: '<c2@customer.test>', subject: 'Scanner', cc: 'Dan <dan@customer.test>' }))).toMatchObject({ outcome: 'created', ticket: 'HD-2' });
    // Dan answers Carla's mail: his words must not land on Mallory's ticket, where the agent's answer would go to her.
    const dan = await d.ingest(buildMail({ from: 'Dan <dan@customer.test>', inReplyTo: '<c2@customer.test>', references: ['<c2@customer.test>'], subject: 'Re: Scanner', body: 'Our serial number is 12345.' }));
    expect(dan.ticket).not.toBe('HD-1');
    expect((await ticket(d, 'HD-1'))?.messages).toHaveLength(1);
    for (const ref of ['HD-1', 'HD-2']) expect((await ticket(d, ref))?.events.filter((e) => e.type === 'message_id_shared').map((e) => e.to)).toEqual(['<c2@customer.test>']);
  });
});

describe('forged bounces (item 2)', () => {
  it('a report naming another address silences nobody, and its sender never joins the ticket', async () => {
    const d = fx.open();
    const { ack, assigned } = await startTicket(d);
    const at = d.clock.now;
    // Carla takes her acknowledgement's Message-ID and reports Ana's address as dead.
    await d.ingest(buildDsn(idOf(ack), 'ana@example.test', '5.1.1', '550 5.1.1 user unknown', 'Mail Delivery System <mailer-daemon@customer.test>'));
    expect(await d.view.suppressedUntil('ana@example.test', at)).toBeNull();
    expect((await participants(d))).not.toContain('mailer-daemon@customer.test');
    expect((await d.view.listOutbox({ limit: 1000 })).map((r) => r.status)).not.toContain('bounced');

    await d.ingest(anaReply(assigned, 'Try again please.'));
    await d.send();
    expect(to('mailer-daemon@customer.test')).toEqual([]);
    expect(to('ana@example.test').length).toBeGreaterThan(0);

    // A genuine report about the address the acknowledgement went to still works.
    await d.ingest(buildDsn(idOf(ack), CARLA, '5.1.1', '550 5.1.1 user unknown', 'Mail Delivery System <mailer-daemon@customer.test>'));
    expect(await d.view.suppressedUntil(CARLA, at)).not.toBeNull();
    expect((await participants(d))).not.toContain('mailer-daemon@customer.test');
  });
});

describe('subject tags (item 3)', () => {
  it('a spoofed agent address with a tag is a stranger: a new, linked ticket; the tagged one stays resolved', async () => {
    const d = fx.open({ files: { agents: AR_AGENTS } });
    await startTicket(d);
    const t = (await d.view.ticketByRef('HD-1'));
    if (!t) throw new Error('no HD-1');
    await d.staffChange(t, planChange(t, 'status', 'resolved', d.config, d.clock.now), 'cli:admin', d.clock.now, null);
    const r = await d.ingest(buildMail({ from: ANA, subject: 'Re: [HD-1] Printer broken', body: '#status closed\nspoofed' }));
    expect(r).toMatchObject({ outcome: 'created', ticket: 'HD-2', threadedBy: 'new' });
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('resolved');
    expect((await events(d))).toContain('linked');
  });
});

describe('strangers in a conversation (item 4)', () => {
  it('a stranger who knows a Message-ID is kept on the ticket but does not join it, nor close it', async () => {
    const d = fx.open();
    const { assigned } = await startTicket(d);
    const r = await d.ingest(buildMail({ from: 'Mallory <mallory@evil.example>', subject: 'Re: Printer broken', inReplyTo: '<c1@customer.test>', body: 'I am in this conversation now.' }));
    expect(r).toMatchObject({ outcome: 'appended', ticket: 'HD-1' });
    expect((await participants(d))).not.toContain('mallory@evil.example');

    await d.ingest(anaReply(assigned, 'Please reinstall the driver.'));
    await d.send();
    expect(to('mallory@evil.example')).toEqual([]);

    await d.ingest(buildMail({ from: 'mallory@evil.example', subject: 'Re: Printer broken', inReplyTo: '<c1@customer.test>', body: '#close' }));
    expect((await d.view.ticketByRef('HD-1'))?.status).not.toBe('closed');

    // The customer's own Cc does add someone, who then hears the agent's replies.
    // An automatic address in that Cc does not.
    await d.ingest(buildMail({ from: CARLA, cc: 'Dave <dave@customer.test>, noreply@customer.test', subject: 'Re: Printer broken', inReplyTo: '<c1@customer.test>', body: 'Adding my colleague.' }));
    expect((await participants(d))).toContain('dave@customer.test');
    expect((await participants(d))).not.toContain('noreply@customer.test');
    // A trusted agent's Cc joins too.
    await d.ingest(buildMail({ from: ANA, cc: 'erin@customer.test', subject: 'Re: [HD-1] Printer broken', inReplyTo: idOf(assigned), references: [idOf(assigned)], body: 'Hello Dave.' }));
    await d.send();
    expect(to('dave@customer.test').length).toBeGreaterThan(0);
    expect((await participants(d))).toContain('erin@customer.test');
  });

  it('whoever writes the customer’s address and the ticket’s tag, without any of its Message-IDs, adds nobody to it and cannot close or rate it', async () => {
    const d = fx.open();
    const { ack } = await startTicket(d);
    // Mallory guesses the tag (tickets are numbered) and writes Carla's address: no DMARC
    // verdict in from-header mode, so the mail is taken as Carla's, but its Cc joins nobody.
    const r = await d.ingest(buildMail({ from: CARLA, cc: 'Mallory <mallory@evil.example>', subject: 'Re: [HD-1] Printer broken', body: 'Please copy my assistant.' }));
    expect(r).toMatchObject({ outcome: 'appended', ticket: 'HD-1', threadedBy: 'tag' });
    expect((await participants(d))).toEqual([CARLA]);
    expect((await ticket(d))?.events.filter((e) => e.type === 'participants_unproven').map((e) => e.reason)).toEqual([expect.stringContaining('found by its subject tag alone, which anyone can write')]);
    // Ana is told, so that she checks before acting on what it asks (new bank details...).
    await d.send();
    expect(last('ana@example.test').parsed.text).toContain('UNPROVEN SENDER: this reply was matched to HD-1 by the tag in its subject alone');
    await d.ingest(anaReply(last('ana@example.test'), 'Please reinstall the driver.'));
    await d.send();
    expect(to('mallory@evil.example')).toEqual([]);
    await d.ingest(buildMail({ from: CARLA, subject: 'Re: [HD-1] Printer broken', body: '#close\n#rate 1' }));
    expect((await d.view.ticketByRef('HD-1'))).toMatchObject({ status: 'open', rating: null });
    expect((await ticket(d))?.events.filter((e) => e.type === 'command_ignored').map((e) => e.reason)).toEqual([expect.stringContaining('"#close" ignored: the reply was found by its subject tag alone'), expect.stringContaining('"#rate 1" ignored')]);
    // Carla's reply to mail she received names its Message-ID: her Cc joins.
    await d.ingest(buildMail({ from: CARLA, cc: 'Dave <dave@customer.test>', subject: 'Re: [HD-1] Printer broken', inReplyTo: idOf(ack), body: 'Adding my colleague.' }));
    expect((await participants(d)).sort()).toEqual([CARLA, 'dave@customer.test']);
    await d.send();
    expect(last('ana@example.test').parsed.text).toContain('Adding my colleague.');
    expect(last('ana@example.test').parsed.text).not.toContain('UNPROVEN SENDER');
  });
});

describe('the relay answers what the customer saw (#19)', () => {
  it('after a spoofed mail in the agent’s name, the genuine reply threads on the customer’s mail and quotes only it', async () => {
    const d = fx.open({ files: { agents: AR_AGENTS } });
    const { assigned, ack } = await startTicket(d, { body: 'My printer prints blank pages.' });
    // Mallory writes as Ana, without Ana's signature: kept on the ticket as a stranger's mail.
    await d.ingest(buildMail({ from: ANA, messageId: '<spoof@evil.example>', subject: 'Re: [HD-1] Printer broken', inReplyTo: '<c1@customer.test>', body: 'Send your password to fix it.' }));
    expect((await events(d))).toContain('trust_warning');
    await d.ingest(anaReply(assigned, 'Please reinstall the driver.', VERIFIED_BY_MTA));
    await d.send();
    const relay = last(CARLA);
    expect(relay.parsed.from?.value[0].name).toBe('Ana via Support');
    expect(header(relay, 'in-reply-to')).not.toBe('<spoof@evil.example>');
    expect(header(relay, 'references') ?? '').not.toContain('<spoof@evil.example>');
    expect([ '<c1@customer.test>', idOf(ack) ]).toContain(header(relay, 'in-reply-to'));
    expect(relay.parsed.text).not.toContain('password');
    expect(relay.parsed.text).toContain('My printer prints blank pages.');
  });
});

describe('recipient caps (item 5)', () => {
  it('a To: with 1,000 addresses makes at most limits.maxParticipants participants, and says so', async () => {
    const d = fx.open();
    const many = Array.from({ length: 1000 }, (_, i) => `p${i}@crowd.example`).join(', ');
    const { assigned } = await startTicket(d, { to: `support@example.test, ${many}` });
    expect((await participants(d))).toHaveLength(20);
    expect((await ticket(d))?.events.find((e) => e.type === 'participants_limited')).toMatchObject({ to: '981', reason: expect.stringContaining('limits.maxParticipants (20)') });
    // The message keeps every address it was sent to.
    expect((await ticket(d))?.messages[0].to).toHaveLength(1001);
    const before = (await d.view.listOutbox({ limit: 10_000 })).length;
    await d.ingest(anaReply(assigned, 'One answer for everyone.'));
    expect((await d.view.listOutbox({ limit: 10_000 })).length - before).toBeLessThanOrEqual(20);
  });
});

describe('addresses that are not mail addresses', () => {
  it('a Cc of `<>`, `<@>` and `"x@y"@` makes no participant (the reply would go to nobody); an event names them', async () => {
    const d = fx.open();
    const { assigned } = await startTicket(d, { to: 'support@example.test, undisclosed-recipients:;', headers: { Cc: '"a" <>, <@>, "x@y"@, a, dan@customer.test' } });
    expect((await participants(d)).sort()).toEqual([CARLA, 'dan@customer.test']);
    expect((await ticket(d))?.events.find((e) => e.type === 'participants_unusable')).toMatchObject({ to: '3', reason: expect.stringContaining('not mail addresses') });
    await d.ingest(anaReply(assigned, 'Answer for both.'));
    await d.send();
    const relayed = (await d.view.listOutbox({ limit: 100 })).filter((r) => r.template === 'agent_reply');
    expect(relayed.flatMap((r) => r.recipients).sort()).toEqual([CARLA, 'dan@customer.test']);
  });
});

describe('admin regexes (item 6)', () => {
  it('a pattern that backtracks forever under V8 routes a hostile body at once', async () => {
    const rules = `rules:
  - { name: nested, when: { body: { regex: "(.*a){20}$" } }, then: { priority: high } }
  - { name: stars, when: { body: { regex: ".*.*.*.*=" } }, then: { priority: low } }
`;
    const d = fx.open({ files: { rules } });
    const r = await d.ingest(buildMail({ body: `${'a'.repeat(30)}!` }));
    expect(r).toMatchObject({ outcome: 'created' });
    expect((await d.view.ticketByRef('HD-1'))?.priority).toBe('medium');
    // The rules still match what they should.
    await d.ingest(buildMail({ body: 'width=80' }));
    expect((await d.view.ticketByRef('HD-2'))?.priority).toBe('low');
  });
});

describe('small ones (item 8)', () => {
  it('5,000 uuencoded blocks in one body are all kept', async () => {
    const d = fx.open();
    const blocks = Array.from({ length: 5000 }, (_, i) => `begin 644 f${i}.txt\n%:&5L;&\\\`\n\`\nend`).join('\n');
    const r = await d.ingest(buildMail({ body: `Files:\n${blocks}\n` }));
    expect(r).toMatchObject({ outcome: 'created' });
    expect((await ticket(d))?.messages[0].attachments).toHaveLength(5000);
  });

  it('plus-addresses share one acknowledgement budget', async () => {
    const d = fx.open();
    for (let i = 1; i <= 8; i++) await d.ingest(buildMail({ from: `victim+${i}@customer.test`, subject: `Flood ${i}` }));
    await d.ingest(buildMail({ from: 'victim@customer.test', subject: 'Flood 9' }));
    await d.send();
    const acks = fx.sink.messages.filter((m) => m.to.some((a) => a.startsWith('victim')));
    expect(acks).toHaveLength(5);
    // Someone else at the same domain, and the same name at another domain, have budgets of their own.
    await d.ingest(buildMail({ from: 'other@customer.test', subject: 'Mine' }));
    await d.ingest(buildMail({ from: 'victim+1@elsewhere.test', subject: 'Elsewhere' }));
    await d.send();
    expect(to('other@customer.test')).toHaveLength(1);
    expect(to('victim+1@elsewhere.test')).toHaveLength(1);
  });

  it('the dotted forms of a Gmail address share one acknowledgement budget, as they share one inbox', async () => {
    const d = fx.open();
    const forms = ['victim@gmail.com', 'v.ictim@gmail.com', 'vi.ctim@gmail.com', 'v.i.c.t.i.m@gmail.com', 'victim+x@googlemail.com', 'vic.tim+y@gmail.com', 'victi.m@GMAIL.com', 'v.ic.tim@gmail.com'];
    for (const [i, from] of forms.entries()) await d.ingest(buildMail({ from, subject: `Flood ${i}` }));
    await d.send();
    const acks = fx.sink.messages.filter((m) => m.to.some((a) => /@g(oogle)?mail\.com$/i.test(a)));
    expect(acks).toHaveLength(5);
    // A dot elsewhere is a different mailbox: its budget is its own.
    await d.ingest(buildMail({ from: 'v.ictim@customer.test', subject: 'Mine' }));
    await d.ingest(buildMail({ from: 'other.one@gmail.com', subject: 'Mine too' }));
    await d.send();
    expect(to('v.ictim@customer.test')).toHaveLength(1);
    expect(to('other.one@gmail.com')).toHaveLength(1);
  });
});
