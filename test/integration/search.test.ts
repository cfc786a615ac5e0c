import { runCli } from '../helpers/cli';
import { openTestDesk, removeTempDirs, type TestDesk } from '../helpers/env';
import { buildMail } from '../helpers/mail';
import { sqliteOnly, TEST_STORE } from '../helpers/test-store';
import { checkSearchIndex } from '../../src/store/search';

afterAll(() => removeTempDirs());

/** Four tickets from two customers' companies, one answered by an agent with a note, one merged. */
async function deskWithTickets(): Promise<TestDesk> {
  const d = openTestDesk();
  const at = (day: number) => Date.UTC(2026, 10, day, 10);
  await d.ingest(buildMail({ messageId: '<p1@acme.example>', from: 'Lucía Pérez <lucia@acme.example>', subject: 'La impresora no imprime', body: 'Desde ayer la impresión sale en blanco.' }), { now: at(2) });
  await d.ingest(buildMail({ messageId: '<p2@other.example>', from: 'Bo <bo@other.example>', subject: 'Printers offline', body: 'All our printers went offline after the update. Toner is fine.' }), { now: at(5) });
  await d.ingest(buildMail({ messageId: '<p3@acme.example>', from: 'Max <max@acme.example>', subject: 'VPN drops', body: 'The VPN drops every hour.' }), { now: at(6) });
  // Ana answers HD-3 with an internal note only the desk sees.
  await d.ingest(buildMail({ messageId: '<n1@example.test>', from: 'Ana <ana@example.test>', inReplyTo: '<p3@acme.example>', subject: 'Re: [HD-3] VPN drops', body: '#note\n#assign me\nKnown firmware bug on the concentrator, ticket with the vendor.' }), { now: at(6) + 60_000 });
  await d.ingest(buildMail({ messageId: '<p4@acme.example>', from: 'Max <max@acme.example>', subject: 'Paper jam', body: 'Paper jam in tray 2 of the printer.' }), { now: at(8) });
  return d;
}

describe('tickets search (issue #22)', () => {
  let d: TestDesk;
  beforeAll(async () => {
    d = await deskWithTickets();
  });
  afterAll(() => d.close());
  const refs = async (q: string) => (await d.search(q, 20)).map((t) => t.ref);

  it('finds words by stem and without accents, in subjects, text, notes and senders, best match first', async () => {
    expect(await refs('impresion')).toEqual(['HD-1']);
    // "printer" finds "printers" (porter); the subject weighs more than the body.
    expect(await refs('printer')).toEqual(['HD-2', 'HD-4']);
    expect(await refs('firmware concentrator')).toEqual(['HD-3']);
    expect(await refs('lucia')).toEqual(['HD-1']);
    expect(await refs('"paper jam"')).toEqual(['HD-4']);
    expect(await refs('"jam paper"')).toEqual([]);
    expect(await refs('print*')).toEqual(expect.arrayContaining(['HD-2', 'HD-4']));
    expect(await refs('printer -toner')).toEqual(['HD-4']);
  });

  it('narrows by filters and gives a snippet with the words found', async () => {
    expect(await refs('printer customer:@acme.example')).toEqual(['HD-4']);
    expect(await refs('vpn assignee:ana')).toEqual(['HD-3']);
    expect(await refs('vpn assignee:none')).toEqual([]);
    expect(await refs('customer:@acme.example since:2026-11-06')).toEqual(['HD-4', 'HD-3']);
    expect(await refs('customer:@acme.example until:2026-11-02')).toEqual(['HD-1']);
    expect(await refs('status:new,open priority:medium printer')).toEqual(['HD-2', 'HD-4']);
    const [hit] = await d.search('toner', 5);
    expect(hit.snippet).toContain('**Toner**');
    expect(hit.score).toBeLessThan(0);
  });

  it('never reads the words as FTS syntax, and says what is wrong with a filter', async () => {
    expect(await refs('printer OR vpn')).toEqual([]);
    expect(await refs('NEAR( " printer')).toEqual([]);
    await expect(refs('stauts:open')).rejects.toThrow(/unknown filter "stauts:"; did you mean status:/);
    await expect(refs('status:opne')).rejects.toThrow(/status: expects one of new, open, pending, resolved, closed, spam, got "opne"; did you mean open\?/);
    await expect(refs('since:yesterday')).rejects.toThrow(/since: expects a date such as 2026-11-01/);
    await expect(refs('assignee:zed')).rejects.toThrow(/assignee: no agent "zed"/);
    await expect(refs('-printer')).rejects.toThrow(/needs at least one word/);
  });

  it('keeps the index with the messages: a merge moves the hits, a rebuilt index finds the same', async () => {
    await d.ingest(buildMail({ messageId: '<m1@example.test>', from: 'Ana <ana@example.test>', inReplyTo: '<p4@acme.example>', subject: 'Re: [HD-4] Paper jam', body: '#merge HD-2' }), { now: Date.UTC(2026, 10, 9) });
    expect(await refs('"paper jam"')).toEqual(['HD-2']);
    // SQLite's FTS5 table is kept by triggers and can disagree with the messages; PostgreSQL's
    // index is a generated column of the message row and cannot.
    if (TEST_STORE === 'sqlite') checkSearchIndex(d.store.db);
  });
});

describe('tickets search and list on the command line', () => {
  // The command on PostgreSQL: pg-intake.test.ts. This one also damages SQLite's FTS5 index.
  sqliteOnly('prints hits with snippets or JSON; list takes the filters; reindex --check finds a broken index and reindex mends it', async () => {
    const d = await deskWithTickets();
    const args = ['--config', d.config.dir, '--data', d.dataDir];
    d.close();
    const search = runCli([...args, 'tickets', 'search', 'printer customer:@acme.example']);
    expect(search.code).toBe(0);
    expect(search.stdout).toMatch(/^HD-4 {2}new {2}max@acme\.example .* Paper jam\n {4}.*\*\*printer\*\*/);
    const json = JSON.parse(runCli([...args, 'tickets', 'search', 'vpn', '--json']).stdout) as Array<{ ref: string; snippet: string; assignee: string }>;
    expect(json).toMatchObject([{ ref: 'HD-3', assignee: 'ana@example.test' }]);
    expect(json[0].snippet).toContain('**VPN**');
    expect(runCli([...args, 'tickets', 'search', 'stauts:open']).code).toBe(64);

    const list = JSON.parse(runCli([...args, 'tickets', 'list', 'customer:@acme.example assignee:none', '--json']).stdout) as Array<{ ref: string }>;
    expect(list.map((t) => t.ref)).toEqual(['HD-4', 'HD-1']);
    const words = runCli([...args, 'tickets', 'list', 'printer']);
    expect(words.code).toBe(64);
    expect(words.stderr).toContain("helpdesk tickets search 'printer'");

    // The index emptied behind the store's back: the check says so, reindex mends it.
    const { openStore } = await import('../../src/store/open');
    const store = openStore(d.dataDir);
    store.sqlite.exec("insert into messages_fts(messages_fts) values ('delete-all')");
    store.close();
    expect(runCli([...args, 'tickets', 'search', 'printer']).stdout).toBe('no ticket found\n');
    const check = runCli([...args, 'tickets', 'reindex', '--check']);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('does not agree with the messages');
    expect(runCli([...args, 'tickets', 'reindex']).stdout).toBe('search index rebuilt: 5 messages\n');
    expect(runCli([...args, 'tickets', 'reindex', '--check']).code).toBe(0);
    expect(runCli([...args, 'tickets', 'search', 'printer']).stdout).toMatch(/^HD-2 /);
  }, 60_000);
});
