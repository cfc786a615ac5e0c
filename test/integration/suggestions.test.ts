import { cpSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { computeReport } from '../../src/report/figures';
import { reportText } from '../../src/report/text';
import { FIXTURES } from '../helpers/env';
import { buildMail } from '../helpers/mail';
import { header, lastMailTo, type SinkMessage } from '../harness/smtp-sink';
import { smtpDesks, type Desk } from '../helpers/smtp-desk';
import { sqliteOnly } from '../helpers/test-store';

const fx = smtpDesks();
const last = (address: string) => lastMailTo(fx.sink, address);
const ANA = 'Ana <ana@example.test>';

function answer(m: SinkMessage, body: string): Buffer {
  return buildMail({ from: ANA, subject: `Re: ${m.parsed.subject}`, inReplyTo: header(m, 'message-id') as string, body });
}

/** A desk with the test knowledge base, and one solved ticket about apt on Red Hat. */
async function deskWithHistory(extra = ''): Promise<Desk> {
  const d = fx.open({ extra });
  cpSync(path.join(FIXTURES, 'kb'), path.join(d.config.dir, 'kb'), { recursive: true });
  await d.ingest(buildMail({ from: 'Bo <bo@other.test>', messageId: '<q1@other.test>', subject: 'apt-get dist-upgrade fails on Red Hat 8', body: 'apt-get dist-upgrade stops with unmet dependencies for openssh after I changed sources.list.' }));
  await d.send();
  await d.ingest(answer(last('ana@example.test'), '#status resolved\nRun apt-get update first, then apt-get -f install to repair the half-installed openssh.\nAfter that dist-upgrade goes through.'));
  await d.send();
  return d;
}

describe('suggestions where agents work (issue #22)', () => {
  it('the assigned notice lists matching articles and the similar solved ticket with the reply that solved it', async () => {
    const d = await deskWithHistory();
    await d.ingest(buildMail({ from: 'Carla Customer <carla@customer.test>', messageId: '<q2@customer.test>', subject: 'openssh unmet dependencies', body: 'apt-get dist-upgrade says unmet dependencies for openssh. What now?' }));
    await d.send();
    const notice = last('ana@example.test');
    expect(notice.parsed.subject).toContain('[HD-2]');
    const text = notice.parsed.text ?? '';
    expect(text).toContain('Articles that may answer it:\n- Using apt-get on Red Hat systems (apt-rpm) [kb: linux/apt-rpm]\napt-rpm brings Debian');
    expect(text).toContain('Similar solved tickets:\n- HD-1 apt-get dist-upgrade fails on Red Hat 8\n> Run apt-get update first, then apt-get -f install to repair the half-installed openssh.\n> After that dist-upgrade goes through.');
    expect(notice.parsed.html).toContain('<strong>HD-1</strong> apt-get dist-upgrade fails on Red Hat 8');
    // The customer is offered nothing: notifications.suggestArticles is off by default.
    expect(last('carla@customer.test').parsed.text).not.toContain('these articles may already answer');
    expect((await d.view.showTicket('HD-2'))?.events.find((e) => e.type === 'articles_suggested')).toMatchObject({ to: expect.stringContaining('linux/apt-rpm'), reason: 'similar solved tickets: HD-1' });
  });

  it('a customer’s reply brings suggestions for what they wrote now; an unrelated question brings none', async () => {
    const d = await deskWithHistory();
    await d.ingest(buildMail({ from: 'Carla Customer <carla@customer.test>', messageId: '<q3@customer.test>', subject: 'Invoice', body: 'Hello, thanks.' }));
    await d.send();
    expect(last('ana@example.test').parsed.text).not.toContain('Similar solved tickets');
    expect(last('ana@example.test').parsed.text).not.toContain('Articles that may answer it');
    await d.ingest(buildMail({ from: 'Carla Customer <carla@customer.test>', inReplyTo: header(last('carla@customer.test'), 'message-id') as string, subject: 'Re: [HD-2] Invoice', body: 'The ALSA driver module for my sound card does not load, alsamixer shows nothing.' }));
    await d.send();
    const replied = last('ana@example.test');
    expect(replied.parsed.text).toContain('replied on HD-2');
    expect(replied.parsed.text).toContain('[kb: linux/alsa-sound]');
  });

  it('with notifications.suggestArticles the acknowledgement offers public articles in the customer’s language, never internal ones', async () => {
    const d = await deskWithHistory('notifications: { suggestArticles: true }');
    await d.ingest(buildMail({ from: 'Lucía <lucia@cliente.test>', messageId: '<q4@cliente.test>', subject: 'La impresora no imprime', body: 'Hola, la impresora no imprime y hay un atasco de papel. ¿Qué hago? Gracias.' }));
    await d.send();
    const ack = last('lucia@cliente.test');
    expect(ack.parsed.text).toContain('Mientras espera, estos artículos quizá ya respondan a su pregunta:\n\n== La impresora no imprime ==\nCompruebe la cola de impresión');
    expect(ack.parsed.text).toContain('responda con #close');
    expect(ack.parsed.text).not.toContain('vendor');
    expect((await d.view.showTicket('HD-2'))?.events.find((e) => e.type === 'articles_offered')).toMatchObject({ to: 'linux/impresora' });
    // English: the printer's internal article goes to the agent only.
    await d.ingest(buildMail({ from: 'Max <max@acme.test>', messageId: '<q5@acme.test>', subject: 'Printer fleet escalation', body: 'Our printer needs a vendor escalation.' }));
    await d.send();
    expect(last('max@acme.test').parsed.text).not.toContain("vendor's support line");
    expect(last('max@acme.test').parsed.text).not.toContain('these articles may already answer');
    expect(last('ana@example.test').parsed.text).toContain('Printer fleet: vendor escalation contacts [kb: linux/printer-internal, internal]');
  });

  it('the report counts the answers used, the articles suggested and offered, and the offers followed by a resolution without an agent reply', async () => {
    const d = await deskWithHistory('notifications: { suggestArticles: true }');
    await d.ingest(buildMail({ from: 'Lucía <lucia@cliente.test>', messageId: '<q6@cliente.test>', subject: 'La impresora no imprime', body: 'La impresora no imprime, hay un atasco de papel.' }));
    await d.send();
    // The article was enough: she closes the ticket herself.
    await d.ingest(buildMail({ from: 'Lucía <lucia@cliente.test>', inReplyTo: header(last('lucia@cliente.test'), 'message-id') as string, subject: 'Re: [HD-2] La impresora no imprime', body: '#close\nYa funciona, gracias.' }));
    await d.ingest(buildMail({ from: 'Max <max@acme.test>', messageId: '<q7@acme.test>', subject: 'No sound', body: 'The ALSA sound driver module does not load and alsamixer shows no card.' }));
    await d.send();
    await d.ingest(answer(last('ana@example.test'), '#status resolved\n#answer printer-reset'));
    const [since, until] = [Date.parse('2026-11-01T00:00:00Z'), Date.parse('2026-12-01T00:00:00Z')];
    const r = computeReport(await d.view.reportRows(since, until), d.config, since, until, d.clock.now);
    expect(r.knowledge.answers).toEqual([{ name: 'printer-reset', uses: 1 }]);
    // HD-1 (the history) was offered the apt article too, and solved by Ana's reply.
    expect(r.knowledge.offered).toEqual({ tickets: 3, solvedWithoutAgentReply: 1, share: 1 / 3 });
    expect(r.knowledge.articles).toEqual(
      expect.arrayContaining([
        { id: 'linux/impresora', suggestedToAgents: 1, offeredToCustomers: 1, solvedWithoutAgentReply: 1 },
        { id: 'linux/alsa-sound', suggestedToAgents: 1, offeredToCustomers: 1, solvedWithoutAgentReply: 0 },
        { id: 'linux/apt-rpm', suggestedToAgents: 1, offeredToCustomers: 1, solvedWithoutAgentReply: 0 },
      ]),
    );
    expect(reportText(r)).toContain('tickets offered articles: 3; resolved or closed without an agent reply: 1 (33.3%)');
  });

  // Damages SQLite's own index (its word counts).
  sqliteOnly('a damaged index or an unreadable article never holds a notification back: it goes without suggestions', async () => {
    const d = await deskWithHistory();
    // The similar-ticket lookup fails (its word counts are gone), and kb/ holds a folder named like an article.
    d.store.sqlite.exec('drop table messages_vocab');
    mkdirSync(path.join(d.config.dir, 'kb', 'broken.md'));
    await d.ingest(buildMail({ from: 'Carla Customer <carla@customer.test>', messageId: '<q8@customer.test>', subject: 'openssh unmet dependencies', body: 'apt-get dist-upgrade says unmet dependencies for openssh.' }));
    expect(await d.send()).toBe(2);
    const notice = last('ana@example.test');
    expect(notice.parsed.subject).toContain('[HD-2]');
    expect(notice.parsed.text).not.toContain('Similar solved tickets');
    expect((await d.view.showTicket('HD-2'))?.events.map((e) => e.type)).not.toContain('articles_suggested');
  });
});
