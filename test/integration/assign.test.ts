import { planChange } from '../../src/pipeline/changes';
import { openTestDesk, removeTempDirs } from '../helpers/env';
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

const NOW = Date.UTC(2026, 10, 2, 10);

/** A desk on either store (test-store.ts) taking one new customer's mail at a time. */
function desk(agentsYaml: string, rulesYaml: string, dataDir?: string) {
  const d = openTestDesk({ 'agents.yaml': agentsYaml, 'rules.yaml': rulesYaml }, { dataDir });
  let n = 0;
  return {
    dataDir: d.dataDir,
    close: () => d.close(),
    async next() {
      n++;
      const r = await d.ingest(buildMail({ messageId: `<a${n}-${Math.random()}@c.test>`, from: `c${n}@c.test` }), { source: 't', now: NOW });
      return d.view.showTicket(r.ticket as string);
    },
    /** Staff resolve every ticket of one agent. */
    async resolveAllOf(agent: string) {
      for (const t of await d.view.listTickets()) {
        const row = t.assignee === agent ? await d.view.ticketByRef(t.ref) : null;
        if (row) await d.staffChange(row, planChange(row, 'status', 'resolved', d.config, NOW), 'cli:test', NOW, null);
      }
    },
  };
}

describe('assignment strategies', () => {
  it('round robin goes through the group in order and stays fair across restarts', async () => {
    const first = desk(agents(), rules('round_robin'));
    const got = [(await first.next())?.assignee, (await first.next())?.assignee];
    first.close();
    const again = desk(agents(), rules('round_robin'), first.dataDir);
    got.push((await again.next())?.assignee, (await again.next())?.assignee);
    expect(got).toEqual(['ana@example.test', 'bea@example.test', 'cai@example.test', 'ana@example.test']);
    again.close();
  });

  it('round robin skips an agent who is away, and one at capacity', async () => {
    const d = desk(agents(', away: true'), rules('round_robin'));
    const got = [(await d.next())?.assignee, (await d.next())?.assignee, (await d.next())?.assignee];
    expect(got).toEqual(['ana@example.test', 'cai@example.test', 'ana@example.test']);
    d.close();
    const full = desk(agents(', capacity: 1'), rules('round_robin'));
    const seq = [];
    for (let i = 0; i < 5; i++) seq.push((await full.next())?.assignee);
    // Bea takes one ticket, then is full and skipped.
    expect(seq).toEqual(['ana@example.test', 'bea@example.test', 'cai@example.test', 'ana@example.test', 'cai@example.test']);
    const last = await full.next();
    expect(last?.events.find((e) => e.type === 'assigned')?.reason).toMatch(/bea@example.test has 1 open tickets \(capacity 1\)/);
    full.close();
  });

  it('treats an away date range in the help desk time zone', async () => {
    const d = desk(agents(', away: { from: 2026-11-01, until: 2026-11-03 }'), rules('round_robin'));
    expect([(await d.next())?.assignee, (await d.next())?.assignee]).toEqual(['ana@example.test', 'cai@example.test']);
    d.close();
  });

  it('least_open picks the member with the fewest open tickets, from the store', async () => {
    const d = desk(agents(), rules('least_open'));
    const got = [];
    for (let i = 0; i < 4; i++) got.push((await d.next())?.assignee);
    expect(got).toEqual(['ana@example.test', 'bea@example.test', 'cai@example.test', 'ana@example.test']);
    await d.resolveAllOf('cai@example.test');
    await d.resolveAllOf('bea@example.test');
    expect((await d.next())?.assignee).toBe('bea@example.test');
    d.close();
  });

  it('random picks only available members', async () => {
    const d = desk(agents(', away: true'), rules('random'));
    for (let i = 0; i < 6; i++) expect(['ana@example.test', 'cai@example.test']).toContain((await d.next())?.assignee);
    d.close();
  });

  it('leaves the ticket unassigned in its queue and names who must be told: never only the absent, always the admins when nobody can take it', async () => {
    // Everyone in the group is away: every admin hears of it (not the away members only).
    const d = desk(agents().replace(/groups: \[soft\]/g, 'groups: [soft], away: true'), rules('round_robin'));
    const t = await d.next();
    expect(t?.assignee).toBeNull();
    expect(t?.queue).toBe('soft');
    expect(t?.events.find((e) => e.type === 'unassigned')).toMatchObject({ to: 'ana@example.test, dan@example.test', reason: expect.stringMatching(/nobody in group soft can take it/) });
    d.close();
    // Everyone is at capacity: the members who are there, and every admin.
    const full = desk(agents().replace(/groups: \[soft\]/g, 'groups: [soft], capacity: 1'), rules('round_robin'));
    for (let i = 0; i < 3; i++) expect((await full.next())?.assignee).not.toBeNull();
    expect((await full.next())?.events.find((x) => x.type === 'unassigned')?.to).toBe('ana@example.test, bea@example.test, cai@example.test, dan@example.test');
    full.close();
    const e = desk(agents(), rules('round_robin', 'empty'));
    expect((await e.next())?.events.find((x) => x.type === 'unassigned')?.to).toBe('ana@example.test, dan@example.test');
    e.close();
  });
});
