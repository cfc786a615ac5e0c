import { readFileSync } from 'node:fs';
import path from 'node:path';
import { planChange } from '../../src/pipeline/changes';
import { FIXTURES } from '../helpers/env';
import { buildDsn, buildMail } from '../helpers/mail';
import { header, mailTo, startSmtpSink, type SinkMessage } from '../harness/smtp-sink';
import { smtpDesks, type Desk } from '../helpers/smtp-desk';

const ackOf = (m: SinkMessage) => header(m, 'message-id') as string;

const fx = smtpDesks();
const desk = (extra = '', address?: string): Desk => fx.open({ extra, address });
/** The kinds of every message the desk holds, ticket by ticket in the order they were made. */
const messageKinds = async (d: Desk) => {
  const all = await Promise.all((await d.view.listTickets()).reverse().map((t) => d.view.showTicket(t.ref)));
  return all.flatMap((t) => t?.messages.map((m) => m.kind) ?? []);
};

describe('acknowledgement and assignment', () => {
  it('sends exactly one acknowledgement and one assignment, threaded, and the reply threads back', async () => {
    const d = desk();
    const first = buildMail({ messageId: '<first@customer.test>', subject: 'Re: AW: Printer broken' });
    expect(await d.ingest(first)).toMatchObject({ outcome: 'created', ticket: 'HD-1' });
    expect(await d.send()).toBe(2);
    expect(fx.sink.messages).toHaveLength(2);

    const [ack] = mailTo(fx.sink, 'carla@customer.test');
    const [assigned] = mailTo(fx.sink, 'ana@example.test');
    expect(ack).toBeDefined();
    expect(assigned).toBeDefined();
    for (const m of [ack, assigned]) {
      expect(m.from).toBe('support@example.test');
      expect(m.parsed.from?.value[0]).toMatchObject({ address: 'support@example.test', name: 'Support' });
      expect(header(m, 'reply-to')).toContain('support@example.test');
      expect(m.parsed.subject).toBe('[HD-1] Printer broken');
      expect(m.parsed.inReplyTo).toBe('<first@customer.test>');
      expect(header(m, 'references')).toContain('<first@customer.test>');
      expect(header(m, 'auto-submitted')).toBe('auto-replied');
      expect(header(m, 'x-auto-response-suppress')).toBe('All');
      expect(ackOf(m)).toMatch(/^<HD-1\.[0-9a-f]+\.[0-9a-f]{16}@example\.test>$/);
    }
    expect(ack.parsed.text).toContain('HD-1');
    expect(ack.parsed.text).toMatch(/\[ref:HD-1\.[0-9a-f]+\.[0-9a-f]{16}\]/);
    expect(ack.parsed.text).toMatch(/We aim to solve it by \w+day, \w+ \d+, 2026 at \d\d:\d\d [AP]M GMT\+1\./); // the medium SLA's due time, with its zone
    expect(assigned.parsed.text).toContain('Hello, it does not print.');
    expect(assigned.parsed.text).toContain('#status');
    // The rows are sent and carry the Message-IDs the fx.sink saw.
    const rows = (await d.view.listOutbox());
    expect(rows.map((r) => r.status)).toEqual(['sent', 'sent']);
    expect(rows.map((r) => r.messageId).sort()).toEqual([ackOf(ack), ackOf(assigned)].sort());

    // The customer answers the acknowledgement from a client that keeps In-Reply-To only.
    const reply = buildMail({ subject: `Re: ${ack.parsed.subject}`, inReplyTo: ackOf(ack), body: 'Still broken.' });
    expect(await d.ingest(reply)).toMatchObject({ outcome: 'appended', ticket: 'HD-1', threadedBy: 'in-reply-to' });
    expect(await d.send()).toBe(1);
    const told = mailTo(fx.sink, 'ana@example.test');
    expect(told).toHaveLength(2);
    expect(told[1].parsed.subject).toBe('[HD-1] Printer broken');
    expect(told[1].parsed.text).toContain('Still broken.');
    expect(mailTo(fx.sink, 'carla@customer.test')).toHaveLength(1); // no second acknowledgement
  });

  it('answers in the customer’s language and escapes markup in html', async () => {
    const d = desk();
    await d.ingest(buildMail({ subject: '<b>Impresora</b> & <script>alert(1)</script>', headers: { 'Content-Language': 'es' } }));
    await d.send();
    const [ack] = mailTo(fx.sink, 'carla@customer.test');
    expect(ack.parsed.text).toContain('hemos recibido su mensaje');
    expect(ack.parsed.text).toContain('«<b>Impresora</b> & <script>alert(1)</script>»');
    expect(ack.parsed.html).toContain('&lt;b&gt;Impresora&lt;/b&gt; &amp; &lt;script&gt;');
    expect(ack.parsed.html).not.toContain('<script>');
    expect(ack.parsed.html).not.toContain('<b>Impresora');
  });
});

describe('the customer’s language', () => {
  it('is detected from the text when the client sends no Content-Language, recorded, and explained', async () => {
    const d = desk();
    await d.ingest(buildMail({ from: 'Lucía <lucia@cliente.test>', subject: 'No puedo imprimir', body: 'Hola, desde ayer la impresora de la oficina no imprime nada y muestra un error rojo.' }));
    await d.ingest(buildMail({ from: 'Jörg <joerg@kunde.test>', subject: 'Drucker', body: 'Guten Tag, seit gestern druckt der Drucker im Büro nicht mehr und zeigt einen roten Fehler.' }));
    await d.send();
    expect(mailTo(fx.sink, 'lucia@cliente.test')[0].parsed.text).toContain('hemos recibido su mensaje');
    // German is not a language we have templates for: the desk's default, and the reason says why.
    expect(mailTo(fx.sink, 'joerg@kunde.test')[0].parsed.text).toContain('we have received your message');
    const reasons = (await d.view.listOutbox({})).filter((r) => r.template === 'ack').map((r) => `${r.recipients.join(',')}: ${String(r.data.reason)}`);
    expect(reasons).toEqual(expect.arrayContaining([expect.stringMatching(/^lucia@cliente\.test: .*in es: detected from the text/), expect.stringMatching(/^joerg@kunde\.test: .*in en: helpdesk\.locale \(language not recognised\)/)]));
    // Recorded on the contact: a later English line from Lucía still gets Spanish.
    await d.ingest(buildMail({ from: 'Lucía <lucia@cliente.test>', subject: 'Printer again', body: 'Hello, the printer in the office is broken again today.' }));
    await d.send();
    expect(mailTo(fx.sink, 'lucia@cliente.test')[1].parsed.text).toContain('hemos recibido su mensaje');
  });
});

describe('delivery', () => {
  it('keeps notifications while the SMTP server is down, tries one row at a time against it, and delivers each once when it is back', async () => {
    const port = fx.sink.port;
    await fx.sink.close();
    const d = desk();
    await d.ingest(buildMail({}));
    // No server answers: the drain stops after the first row; the other is not tried against it.
    await expect(d.send()).rejects.toThrow(/ECONNREFUSED|ECONNECTION/);
    let rows = (await d.view.listOutbox());
    expect(rows.map((r) => [r.status, r.attempts])).toEqual([
      ['pending', 0],
      ['pending', 1],
    ]);
    expect(rows[1].lastError).toMatch(/ECONNREFUSED|ECONNECTION/);
    // The next drain tries the other (the first waits its backoff), and stops again.
    await expect(d.send()).rejects.toThrow(/ECONNREFUSED|ECONNECTION/);
    expect((await d.view.listOutbox()).map((r) => r.attempts)).toEqual([1, 1]);
    expect(await d.send()).toBe(0); // neither is due yet: backoff

    d.clock.now += 3_600_000;
    fx.sink = await startSmtpSink(port);
    expect(await d.send()).toBe(2);
    d.clock.now += 3_600_000;
    expect(await d.send()).toBe(0);
    expect(fx.sink.messages).toHaveLength(2);
    rows = (await d.view.listOutbox());
    expect(rows.every((r) => r.status === 'sent' && r.attempts === 2)).toBe(true);
  });

  it('a relay that refuses the desk’s own login fails no mail: sending pauses, and all goes once the account works again', async () => {
    // The relay's password was changed and the desk's config not yet (535 on AUTH).
    fx.sink.password = 'new secret';
    try {
      const d = fx.open({ files: { smtpPassword: 'old secret' } });
      await d.ingest(buildMail({}));
      await expect(d.send()).rejects.toThrow(/535/);
      const rows = await d.view.listOutbox();
      expect(rows.map((r) => r.status)).toEqual(['pending', 'pending']);
      expect(rows.map((r) => r.attempts)).toEqual([0, 1]);
      expect((await d.view.showTicket('HD-1'))?.events.map((e) => e.type)).not.toContain('delivery_failed');
      // The relay's account is put right: everything queued goes, once.
      fx.sink.password = 'old secret';
      d.clock.now += 3_600_000;
      expect(await d.send()).toBe(2);
      expect((await d.view.listOutbox()).map((r) => r.status)).toEqual(['sent', 'sent']);
    } finally {
      fx.sink.password = undefined;
    }
  });

  it('gives up on a temporary failure after outgoing.retryFor', async () => {
    const port = fx.sink.port;
    await fx.sink.close();
    const d = desk('', undefined);
    d.config.outgoing.retryFor = 60_000;
    await d.ingest(buildMail({}));
    await expect(d.send()).rejects.toThrow(/ECONNREFUSED|ECONNECTION/);
    await expect(d.send()).rejects.toThrow(/ECONNREFUSED|ECONNECTION/);
    d.clock.now += 3_600_000;
    await d.send();
    const rows = (await d.view.listOutbox());
    expect(rows.map((r) => r.status)).toEqual(['failed', 'failed']);
    expect(rows.map((r) => r.lastError)).toEqual([expect.stringMatching(/^gave up after 2 attempts/), expect.stringMatching(/^gave up after 2 attempts/)]);
    fx.sink = await startSmtpSink(port);
  });

  it('records a 5xx rejection with the server’s text, on the row and on the ticket', async () => {
    fx.sink.rejectRecipient = (a) => (a === 'gone@customer.test' ? '5.1.1 <gone@customer.test>: Recipient address rejected: User unknown' : undefined);
    const d = desk();
    await d.ingest(buildMail({ from: 'gone@customer.test' }));
    await d.send();
    const ack = (await d.view.listOutbox()).find((r) => r.template === 'ack');
    expect(ack).toMatchObject({ status: 'failed', attempts: 1 });
    expect(ack?.lastError).toContain('Recipient address rejected: User unknown');
    const failed = (await d.view.listEvents({ type: 'delivery_failed' }));
    expect(failed).toHaveLength(1);
    expect(failed[0].reason).toContain('User unknown');
    expect(mailTo(fx.sink, 'ana@example.test')).toHaveLength(1); // the agent's notification still went
  });
});


describe('a relayed reply that does not arrive', () => {
  /** Carla's ticket, then Ana's answer to the notice she was sent; resolves to the relay's outbox row. */
  async function answered(d: Desk, customer: string) {
    await d.ingest(buildMail({ from: customer, messageId: '<c1@customer.test>' }));
    await d.send();
    const [assigned] = mailTo(fx.sink, 'ana@example.test');
    const id = header(assigned, 'message-id') as string;
    await d.ingest(buildMail({ from: 'Ana <ana@example.test>', subject: `Re: ${assigned.parsed.subject}`, inReplyTo: id, references: [id], body: 'Restart the spooler, then print again.' }));
    await d.send();
    return (await d.view.listOutbox()).find((r) => r.template === 'agent_reply');
  }

  it('refused by the server for good: the agent who wrote it is told by mail, with the server’s words and the reply', async () => {
    fx.sink.rejectRecipient = (a) => (a === 'gone@customer.test' ? '5.1.1 <gone@customer.test>: Recipient address rejected: User unknown' : undefined);
    const d = desk();
    // The acknowledgement to the same address fails too: our own notice failing tells nobody.
    const relay = await answered(d, 'gone@customer.test');
    expect(relay).toMatchObject({ status: 'failed' });
    await d.send();
    const told = mailTo(fx.sink, 'ana@example.test').filter((m) => /did not reach/.test(m.parsed.text ?? ''));
    expect(told).toHaveLength(1);
    expect(told[0].parsed.subject).toBe('[HD-1] Printer broken');
    expect(told[0].parsed.text).toContain('gone@customer.test');
    expect(told[0].parsed.text).toContain('User unknown');
    expect(told[0].parsed.text).toContain('Restart the spooler');
    expect((await d.view.listEvents({ type: 'reply_undelivered' })).map((e) => e.to)).toEqual(['ana@example.test']);
    expect((await d.view.listOutbox()).filter((r) => r.template === 'reply_undelivered')).toHaveLength(1);
  });

  it('bounced for good later (5.x.x): the agent is told once; a bounce of an acknowledgement, a soft one or a second report tells nobody', async () => {
    const d = desk();
    const relay = await answered(d, 'carla@customer.test');
    expect(relay?.status).toBe('sent');
    const ack = (await d.view.listOutbox()).find((r) => r.template === 'ack');
    await d.ingest(buildDsn(ack?.messageId as string, 'carla@customer.test', '5.1.1', '550 5.1.1 <carla@customer.test>: mailbox full forever'));
    await d.send();
    expect((await d.view.listOutbox()).filter((r) => r.template === 'reply_undelivered')).toHaveLength(0);
    // Postfix's "delayed mail" warning (4.x.x: still trying) first: no failure yet.
    await d.ingest(buildDsn(relay?.messageId as string, 'carla@customer.test', '4.4.1', '421 4.4.1 connection timed out'));
    await d.send();
    expect((await d.view.listOutbox()).filter((r) => r.template === 'reply_undelivered')).toHaveLength(0);
    // The report's words as its sender wrote them, up to 1,000 characters.
    await d.ingest(buildDsn(relay?.messageId as string, 'carla@customer.test', '5.1.1', `550 5.1.1 <carla@customer.test>: User unknown ${'x'.repeat(3000)}`));
    await d.send();
    const told = mailTo(fx.sink, 'ana@example.test').filter((m) => /did not reach/.test(m.parsed.text ?? ''));
    expect(told).toHaveLength(1);
    expect(told[0].parsed.text).toMatch(/bounced, 5\.1\.1.*User unknown x+…/);
    expect(told[0].parsed.text).not.toContain('x'.repeat(1000));
    // Told once per reply: more reports of the same mail (anyone who has its Message-ID can write one) tell nobody.
    await d.ingest(buildDsn(relay?.messageId as string, 'carla@customer.test', '5.7.1', '550 5.7.1 rejected by policy'));
    await d.send();
    expect((await d.view.listOutbox()).filter((r) => r.template === 'reply_undelivered')).toHaveLength(1);
  });
});

describe('bounces', () => {
  it('matches a DSN to the outbox row: bounced, an event, a suppression, no ticket and no mail', async () => {
    const d = desk();
    await d.ingest(buildMail({ from: 'gone@customer.test' }));
    await d.send();
    const ack = (await d.view.listOutbox()).find((r) => r.template === 'ack');
    expect(ack?.status).toBe('sent');
    const before = fx.sink.messages.length;

    const result = await d.ingest(buildDsn(ack?.messageId as string, 'gone@customer.test', '5.1.1', '550 5.1.1 <gone@customer.test>: Recipient address rejected: User unknown'));
    expect(result).toMatchObject({ outcome: 'appended', ticket: 'HD-1' });
    expect(await d.view.listTickets()).toHaveLength(1);
    const row = (await d.view.listOutbox()).find((r) => r.id === ack?.id);
    expect(row).toMatchObject({ status: 'bounced', bounceStatus: '5.1.1' });
    expect(row?.lastError).toContain('User unknown');
    expect((await d.view.listEvents({ type: 'bounced' }))).toHaveLength(1);
    expect((await messageKinds(d)).filter((k) => k === 'bounce')).toHaveLength(1);
    expect(await d.view.suppressedUntil('gone@customer.test', d.clock.now)).not.toBeNull();
    expect(await d.send()).toBe(0);
    expect(fx.sink.messages).toHaveLength(before);

    // A new ticket from the suppressed address is created but not acknowledged, and says why.
    expect(await d.ingest(buildMail({ from: 'gone@customer.test', subject: 'Another thing' }))).toMatchObject({ outcome: 'created', ticket: 'HD-2' });
    await d.send();
    expect(mailTo(fx.sink, 'gone@customer.test')).toHaveLength(1);
    const withheld = (await d.view.listEvents({ type: 'notification_withheld' }));
    expect(withheld.map((e) => e.reason).join()).toMatch(/hard-bounced/);
  });

  it('records a bounce for mail we never sent as ignored, without a ticket', async () => {
    const d = desk();
    const bounce = buildDsn('<someone-else@elsewhere.test>', 'x@customer.test', '5.1.1', '550 5.1.1 unknown');
    const result = await d.ingest(bounce);
    expect(result).toMatchObject({ outcome: 'ignored', ticket: null });
    expect(result.reason).toMatch(/matching no mail we sent/);
    expect(await d.ingest(bounce)).toMatchObject({ outcome: 'duplicate' });
    expect(await d.view.listTickets()).toHaveLength(0);
    expect(await d.send()).toBe(0);
  });
});

describe('loop protection', () => {
  it('stops a responder that answers every acknowledgement with fresh mail at the rate limit', async () => {
    const d = desk('notifications: { ackRateLimit: { count: 3, per: 1h } }');
    let inbound = 0;
    const write = async (n: number) => {
      inbound++;
      await d.ingest(buildMail({ from: 'robot@responder.test', subject: `Thank you for your message ${n}`, body: 'We got your message.' }));
    };
    await write(0);
    // The worst responder: no Auto-Submitted, no threading headers, a new subject each time.
    for (let round = 1; round < 50; round++) {
      const before = mailTo(fx.sink, 'robot@responder.test').length;
      await d.send();
      if (mailTo(fx.sink, 'robot@responder.test').length === before) break;
      await write(round);
    }
    expect(mailTo(fx.sink, 'robot@responder.test')).toHaveLength(3);
    expect(inbound).toBe(4);
    const withheld = (await d.view.listEvents({ type: 'notification_withheld' }));
    expect(withheld.map((e) => e.reason).join()).toMatch(/ackRateLimit/);
  });

  it('two help desks acknowledging each other exchange one acknowledgement and stop', async () => {
    const a = desk('', 'support@a.test');
    const b = desk('', 'help@b.test');
    const exchanged: string[] = [];
    // Whatever reaches the fx.sink is delivered to the desk it is addressed to.
    const deliver = async () => {
      for (;;) {
        const sent = (await a.send()) + (await b.send());
        const pending = fx.sink.messages.splice(0);
        if (sent === 0 && pending.length === 0) return;
        for (const m of pending) {
          if (!m.to.includes('ana@example.test')) exchanged.push(`${m.from} → ${m.to.join(',')}`);
          if (m.to.includes('help@b.test')) await b.ingest(m.raw);
          if (m.to.includes('support@a.test')) await a.ingest(m.raw);
        }
      }
    };
    // B's staff writes to A from B's address (a form mailer, say): A acknowledges to B, B sees automatic mail.
    await a.ingest(buildMail({ from: 'help@b.test', to: 'support@a.test', subject: 'Order status' }));
    await deliver();
    expect(exchanged).toEqual(['support@a.test → help@b.test']);
    expect(await messageKinds(b)).toEqual(['auto_reply']);
  });

  it('stops notifying a ticket flooded by one sender, with one warning event', async () => {
    const d = desk('notifications: { ticketFlood: { count: 3, per: 1h } }');
    await d.ingest(buildMail({ messageId: '<flood-0@customer.test>' }));
    for (let i = 1; i <= 6; i++) {
      d.clock.now += 60_000;
      await d.ingest(buildMail({ messageId: `<flood-${i}@customer.test>`, inReplyTo: '<flood-0@customer.test>', body: `again ${i}` }));
    }
    await d.send();
    // Replies 1 and 2 notify Ana; from the 3rd reply in the hour on, nothing.
    expect(mailTo(fx.sink, 'ana@example.test').map((m) => m.parsed.text?.match(/again \d|does not print/)?.[0])).toEqual(['does not print', 'again 1', 'again 2']);
    expect((await d.view.listEvents({ type: 'flood_warning' }))).toHaveLength(1);
  });

  it.each([
    ['Exchange', 'alaveteli/track-response-exchange-oof-1.eml'],
    ['Outlook', 'alaveteli/track-response-outlook-oof.eml'],
    ['Lotus Notes', 'alaveteli/track-response-lotus-oof-1.eml'],
    ['RFC 3834 vacation', 'sisimai/bsd/rfc3834-01.eml'],
  ])('stores an out-of-office reply from %s on the ticket, without a notification or reopening', async (_client, file) => {
    const d = desk();
    await d.ingest(buildMail({ messageId: '<oof-start@customer.test>' }));
    const ticket = (await d.view.ticketByRef('HD-1'));
    if (!ticket) throw new Error('no ticket');
    await d.staffChange(ticket, planChange(ticket, 'status', 'resolved', d.config, d.clock.now), 'agent:ana@example.test', d.clock.now, 'fixed');
    await d.send();
    const before = fx.sink.messages.length;
    // The real sample, as a reply to our ticket (a header line added in memory; the fixture is untouched).
    const raw = Buffer.concat([Buffer.from('In-Reply-To: <oof-start@customer.test>\r\n'), readFileSync(path.join(FIXTURES, 'mail', file))]);
    expect(await d.ingest(raw)).toMatchObject({ outcome: 'appended', ticket: 'HD-1' });
    await d.send();
    expect(fx.sink.messages).toHaveLength(before);
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('resolved');
    expect(await messageKinds(d)).toEqual(['customer', 'auto_reply']);
  });
});
