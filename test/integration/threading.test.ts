import { openTestDesk, removeTempDirs, type TestDesk } from '../helpers/env';
import { buildMail } from '../helpers/mail';

let desk: TestDesk;
beforeEach(() => {
  desk = openTestDesk();
});
afterEach(() => {
  desk.close();
  removeTempDirs();
});

describe('threading', () => {
  it('threads a 5-message customer/agent conversation into one ticket by References', async () => {
    const ids = ['<c1@customer.test>', '<a2@example.test>', '<c3@customer.test>', '<a4@example.test>', '<c5@customer.test>'];
    const results = [];
    for (let i = 0; i < ids.length; i++) {
      const fromAgent = i % 2 === 1;
      results.push(
        await desk.ingest(
          buildMail({
            from: fromAgent ? 'Ana <ana@example.test>' : 'Carla <carla@customer.test>',
            to: fromAgent ? 'carla@customer.test' : 'support@example.test',
            subject: i === 0 ? 'VPN down' : 'Re: VPN down',
            messageId: ids[i],
            inReplyTo: i > 0 ? ids[i - 1] : undefined,
            references: ids.slice(0, i),
          }),
        ),
      );
    }
    expect(results.map((r) => r.outcome)).toEqual(['created', 'appended', 'appended', 'appended', 'appended']);
    expect(new Set(results.map((r) => r.ticket))).toEqual(new Set(['HD-1']));
    expect(results.map((r) => r.threadedBy)).toEqual(['new', 'references', 'references', 'references', 'references']);
    const t = (await desk.view.showTicket('HD-1'));
    expect(t?.messages.map((m) => m.kind)).toEqual(['customer', 'agent_reply', 'customer', 'agent_reply', 'customer']);
    expect(t?.messages.map((m) => m.threadedBy)).toEqual(['new', 'references', 'references', 'references', 'references']);
  });

  it('threads a reply whose client dropped References by In-Reply-To', async () => {
    await desk.ingest(buildMail({ messageId: '<first@customer.test>' }));
    const reply = await desk.ingest(buildMail({ subject: 'Re: something else entirely', messageId: '<second@customer.test>', inReplyTo: '<first@customer.test>' }));
    expect(reply).toMatchObject({ outcome: 'appended', ticket: 'HD-1', threadedBy: 'in-reply-to' });
  });

  it('prefers the newest known References entry and ignores unknown ones', async () => {
    await desk.ingest(buildMail({ messageId: '<t1@customer.test>', subject: 'one' }));
    await desk.ingest(buildMail({ messageId: '<t2@customer.test>', subject: 'two', from: 'dora@other.test' }));
    const r = await desk.ingest(buildMail({ messageId: '<t3@customer.test>', references: ['<t1@customer.test>', '<t2@customer.test>', '<unknown@x.test>'] }));
    expect(r).toMatchObject({ ticket: 'HD-2', threadedBy: 'references' });
  });

  it('threads a reply that carries only the subject tag when the sender is a participant', async () => {
    await desk.ingest(buildMail({ messageId: '<orig@customer.test>' }));
    const r = await desk.ingest(buildMail({ subject: 'Re: [HD-1] Printer broken', messageId: '<tagonly@customer.test>' }));
    expect(r).toMatchObject({ outcome: 'appended', ticket: 'HD-1', threadedBy: 'tag' });
  });

  it('accepts the subject tag from an agent and from a CC participant', async () => {
    await desk.ingest(buildMail({ messageId: '<orig@customer.test>', cc: 'Dan <dan@customer.test>' }));
    const byAgent = await desk.ingest(buildMail({ from: 'ana@example.test', subject: 'Re: [HD-1] Printer', messageId: '<x1@example.test>' }));
    const byCc = await desk.ingest(buildMail({ from: 'dan@customer.test', subject: 'Re: [hd-1] Printer', messageId: '<x2@customer.test>' }));
    expect(byAgent).toMatchObject({ ticket: 'HD-1', threadedBy: 'tag' });
    expect(byCc).toMatchObject({ ticket: 'HD-1', threadedBy: 'tag' });
  });

  it("gives a stranger who uses someone else's tag a new ticket linked to the tagged one", async () => {
    await desk.ingest(buildMail({ messageId: '<orig@customer.test>' }));
    const r = await desk.ingest(buildMail({ from: 'mallory@evil.test', subject: 'Re: [HD-1] Printer broken', messageId: '<m@evil.test>' }));
    expect(r).toMatchObject({ outcome: 'created', ticket: 'HD-2', threadedBy: 'new' });
    expect(r.reason).toMatch(/not a participant of HD-1/);
    const linkedFromNew = (await desk.view.showTicket('HD-2'))?.events.find((e) => e.type === 'linked');
    const linkedFromOld = (await desk.view.showTicket('HD-1'))?.events.find((e) => e.type === 'linked');
    expect(linkedFromNew?.to).toBe('HD-1');
    expect(linkedFromOld?.to).toBe('HD-2');
    expect((await desk.view.showTicket('HD-1'))?.messages).toHaveLength(1);
  });

  it('records the same message ingested twice as duplicate, written once', async () => {
    const raw = buildMail({ messageId: '<once@customer.test>' });
    const first = await desk.ingest(raw);
    const second = await desk.ingest(raw);
    expect(first.outcome).toBe('created');
    expect(second).toMatchObject({ outcome: 'duplicate', ticket: 'HD-1' });
    expect((await desk.view.showTicket('HD-1'))?.messages).toHaveLength(1);
  });

  it('makes one ticket of the same message delivered to two support addresses (two mailboxes)', async () => {
    const body = buildMail({ to: 'support@example.test, sales@example.test', messageId: '<both@customer.test>' }).toString();
    const viaSupport = await desk.ingest(`Delivered-To: support@example.test\r\n${body}`, { mailbox: 'support' });
    const viaSales = await desk.ingest(`Delivered-To: sales@example.test\r\n${body}`, { mailbox: 'sales' });
    expect(viaSupport.outcome).toBe('created');
    expect(viaSales).toMatchObject({ outcome: 'duplicate', ticket: 'HD-1' });
    expect(viaSales.reason).toMatch(/Message-ID <both@customer.test>/);
  });

  it('does not treat the same Message-ID from a different sender as a duplicate', async () => {
    await desk.ingest(buildMail({ messageId: '<same@x.test>', from: 'a@customer.test' }));
    const other = await desk.ingest(buildMail({ messageId: '<same@x.test>', from: 'b@customer.test', subject: 'other' }));
    expect(other.outcome).not.toBe('duplicate');
  });

  it('adds CC addresses as participants, but not the support address or agents', async () => {
    await desk.ingest(buildMail({ to: 'support@example.test, ana@example.test', cc: 'Dan <dan@customer.test>, support@example.test' }));
    const people = (await desk.view.showTicket('HD-1'))?.participants;
    expect(people).toEqual([
      { email: 'carla@customer.test', name: 'Carla Customer', role: 'customer' },
      { email: 'dan@customer.test', name: 'Dan', role: 'cc' },
    ]);
  });

  it('gives a message without Message-ID a stable synthetic one, so re-ingesting it is a duplicate', async () => {
    const raw = buildMail({ messageId: null });
    const first = await desk.ingest(raw);
    expect((await desk.ingest(raw)).outcome).toBe('duplicate');
    const id = (await desk.view.showTicket(first.ticket as string))?.messages[0].messageId;
    expect(id).toMatch(/^<[0-9a-f]{64}@helpdesk\.invalid>$/);
  });

  it('sets the SLA due date from the default severity target', async () => {
    const now = Date.UTC(2026, 10, 2, 10, 0, 0);
    await desk.ingest(buildMail({}), { now });
    expect((await desk.view.showTicket('HD-1'))?.dueAt).toBe(new Date(now + 48 * 3600_000).toISOString());
  });
});
