import { loadConfig } from '../../src/config/load';
import { silentLogger } from '../../src/lib/log';
import { ingest } from '../../src/pipeline/run';
import { openStore } from '../../src/store/open';
import { showTicket } from '../../src/store/tickets';
import { removeTempDirs, tempDir, writeConfigDir } from '../helpers/env';
import { buildMail } from '../helpers/mail';

afterAll(() => removeTempDirs());

const agents = (extra = '') => `agents:
  - { name: Ana, email: ana@example.test, groups: [soft], admin: true }
  - { name: Bea, email: bea@example.test, groups: [soft]${extra} }
  - { name: Cai, email: cai@example.test, groups: [soft] }
  - { name: Dan, email: dan@example.test, admin: true }
groups:
  - { name: soft, members: [] }
  - { name: empty, members: [] }
`;
const rules = (strategy: string, group = 'soft') => `rules:\n  - { name: to ${group}, when: {}, then: { assign: { group: ${group}, strategy: ${strategy} } } }\n`;

function desk(agentsYaml: string, rulesYaml: string, dataDir = tempDir('hd-assign-')) {
  const config = loadConfig(writeConfigDir({ 'agents.yaml': agentsYaml, 'rules.yaml': rulesYaml }), {});
  const store = openStore(dataDir);
  let n = 0;
  return {
    dataDir,
    store,
    async next() {
      n++;
      const r = await ingest({ bytes: buildMail({ messageId: `<a${n}-${Math.random()}@c.test>`, from: `c${n}@c.test` }), source: 't', position: null, mailbox: null }, { config, store, log: silentLogger(), now: () => Date.UTC(2026, 10, 2, 10) });
      return showTicket(store.db, r.ticket as string);
    },
  };
}

describe('assignment strategies', () => {
  it('round robin goes through the group in order and stays fair across restarts', async () => {
    const first = desk(agents(), rules('round_robin'));
    const got = [(await first.next())?.assignee, (await first.next())?.assignee];
    first.store.close();
    const again = desk(agents(), rules('round_robin'), first.dataDir);
    got.push((await again.next())?.assignee, (await again.next())?.assignee);
    expect(got).toEqual(['ana@example.test', 'bea@example.test', 'cai@example.test', 'ana@example.test']);
    again.store.close();
  });

  it('round robin skips an agent who is away, and one at capacity', async () => {
    const d = desk(agents(', away: true'), rules('round_robin'));
    const got = [(await d.next())?.assignee, (await d.next())?.assignee, (await d.next())?.assignee];
    expect(got).toEqual(['ana@example.test', 'cai@example.test', 'ana@example.test']);
    d.store.close();
    const full = desk(agents(', capacity: 1'), rules('round_robin'));
    const seq = [];
    for (let i = 0; i < 5; i++) seq.push((await full.next())?.assignee);
    // Bea takes one ticket, then is full and skipped.
    expect(seq).toEqual(['ana@example.test', 'bea@example.test', 'cai@example.test', 'ana@example.test', 'cai@example.test']);
    const last = await full.next();
    expect(last?.events.find((e) => e.type === 'assigned')?.reason).toMatch(/bea@example.test has 1 open tickets \(capacity 1\)/);
    full.store.close();
  });

  it('treats an away date range in the help desk time zone', async () => {
    const d = desk(agents(', away: { from: 2026-11-01, until: 2026-11-03 }'), rules('round_robin'));
    expect([(await d.next())?.assignee, (await d.next())?.assignee]).toEqual(['ana@example.test', 'cai@example.test']);
    d.store.close();
  });

  it('least_open picks the member with the fewest open tickets, from the store', async () => {
    const d = desk(agents(), rules('least_open'));
    const got = [];
    for (let i = 0; i < 4; i++) got.push((await d.next())?.assignee);
    expect(got).toEqual(['ana@example.test', 'bea@example.test', 'cai@example.test', 'ana@example.test']);
    d.store.sqlite.prepare("update tickets set status = 'resolved' where assignee = 'cai@example.test'").run();
    d.store.sqlite.prepare("update tickets set status = 'resolved' where assignee = 'bea@example.test'").run();
    expect((await d.next())?.assignee).toBe('bea@example.test');
    d.store.close();
  });

  it('random picks only available members', async () => {
    const d = desk(agents(', away: true'), rules('random'));
    for (let i = 0; i < 6; i++) expect(['ana@example.test', 'cai@example.test']).toContain((await d.next())?.assignee);
    d.store.close();
  });

  it('leaves the ticket unassigned in its queue and names who must be told: never only the absent, always the admins when nobody can take it', async () => {
    // Everyone in the group is away: every admin hears of it (not the away members only).
    const d = desk(agents().replace(/groups: \[soft\]/g, 'groups: [soft], away: true'), rules('round_robin'));
    const t = await d.next();
    expect(t?.assignee).toBeNull();
    expect(t?.queue).toBe('soft');
    expect(t?.events.find((e) => e.type === 'unassigned')).toMatchObject({ to: 'ana@example.test, dan@example.test', reason: expect.stringMatching(/nobody in group soft can take it/) });
    d.store.close();
    // Everyone is at capacity: the members who are there, and every admin.
    const full = desk(agents().replace(/groups: \[soft\]/g, 'groups: [soft], capacity: 1'), rules('round_robin'));
    for (let i = 0; i < 3; i++) expect((await full.next())?.assignee).not.toBeNull();
    expect((await full.next())?.events.find((x) => x.type === 'unassigned')?.to).toBe('ana@example.test, bea@example.test, cai@example.test, dan@example.test');
    full.store.close();
    const e = desk(agents(), rules('round_robin', 'empty'));
    expect((await e.next())?.events.find((x) => x.type === 'unassigned')?.to).toBe('ana@example.test, dan@example.test');
    e.store.close();
  });
});
