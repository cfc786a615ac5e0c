import { loadConfig } from '../../src/config/load';
import { customerOf } from '../../src/pipeline/customers';
import { removeTempDirs, writeConfigDir } from '../helpers/env';

afterAll(() => removeTempDirs());

const CUSTOMERS = `levels:
  gold: { sla: { critical: 2h }, priority: high }
organisations:
  - name: Acme
    domains: [acme.test]
    contracts:
      - { name: Acme 2025, level: gold, from: 2025-01-01, until: 2025-12-31 }
      - { name: Acme 2026, level: gold, from: 2026-01-01, until: 2026-12-31 }
  - name: Old Co
    domains: [old.test]
    addresses: [boss@gmail.test]
    contracts:
      - { name: Old Co 2024, level: gold, from: 2024-01-01, until: 2024-12-31 }
  - name: Friends
    domains: [friends.test]
`;
const config = () => loadConfig(writeConfigDir({ 'helpdesk.yaml': 'helpdesk: { address: s@example.test, timezone: Europe/Madrid }\n', 'customers.yaml': CUSTOMERS }), {});
const at = (iso: string) => Date.parse(iso);

describe('customerOf', () => {
  const c = config();
  it('finds the organisation by domain, subdomains included, and the contract valid that day', () => {
    expect(customerOf('ana@mail.acme.test', at('2026-06-01T10:00:00Z'), c)).toMatchObject({ organisation: 'Acme', contract: 'Acme 2026', level: 'gold', contractValid: true });
    expect(customerOf('ana@acme.test', at('2025-06-01T10:00:00Z'), c)).toMatchObject({ contract: 'Acme 2025', contractValid: true });
    expect(customerOf('ana@notacme.test', at('2026-06-01T10:00:00Z'), c)).toBeNull();
  });
  it('takes the day in the desk’s time zone: 31 Dec 23:30 UTC is already 1 Jan in Madrid', () => {
    expect(customerOf('ana@acme.test', at('2025-12-31T23:30:00Z'), c)).toMatchObject({ contract: 'Acme 2026' });
  });
  it('an expired contract is reported, not valid; a listed address counts outside the domains', () => {
    expect(customerOf('boss@gmail.test', at('2026-06-01T10:00:00Z'), c)).toMatchObject({ organisation: 'Old Co', contract: 'Old Co 2024', contractValid: false, reason: expect.stringContaining('not valid on 2026-06-01') });
    expect(customerOf('x@friends.test', at('2026-06-01T10:00:00Z'), c)).toMatchObject({ organisation: 'Friends', contract: null, contractValid: false });
  });
  it('config check refuses a contract of an unknown level and a domain of two organisations, by organisation name', () => {
    const bad = `levels: {}\norganisations:\n  - { name: A, domains: [x.test], contracts: [{ name: c, level: platinum, from: 2026-01-01 }] }\n  - { name: B, domains: [x.test] }\n`;
    expect(() => loadConfig(writeConfigDir({ 'customers.yaml': bad }), {})).toThrow(/customers\.yaml:3:\d+: organisation 1 "A": contracts\.0\.level: unknown level platinum \(levels: none\)[\s\S]*organisation 2 "B": domains\.0: x\.test already belongs to A/);
  });
});
