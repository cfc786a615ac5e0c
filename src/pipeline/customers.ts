import type { Config, Priority, Severity } from '../config/schema';
import { localDateString } from '../lib/local-time';

/** Who a sender is a customer of (config/customers.yaml), and under which contract. */
export interface Customer {
  organisation: string;
  /** The contract in force at the time asked, else the latest one (then `contractValid` is false); null: none. */
  contract: string | null;
  level: string | null;
  contractValid: boolean;
  reason: string;
}

/**
 * The organisation of an address (listed addresses first, then domains, subdomains included)
 * and its contract on the day of `at` in the desk's time zone. Pure.
 */
export function customerOf(address: string | null | undefined, at: number, config: Config): Customer | null {
  if (!address) return null;
  const a = address.toLowerCase();
  const domain = a.slice(a.lastIndexOf('@') + 1);
  const byAddress = config.organisations.find((o) => o.addresses.includes(a));
  const byDomain = byAddress ? undefined : config.organisations.find((o) => o.domains.some((d) => domain === d || domain.endsWith(`.${d}`)));
  const org = byAddress ?? byDomain;
  if (!org) return null;
  const how = byAddress ? `address ${a}` : `domain ${domain}`;
  const day = localDateString(at, config.helpdesk.timezone);
  const found = contractOn(org, day);
  if (!found) return { organisation: org.name, contract: null, level: null, contractValid: false, reason: `${how}: ${org.name}, no contract` };
  const { contract: c, valid } = found;
  const reason = valid ? `${how}: ${org.name}, contract ${c.name} (${c.level}) valid on ${day}` : `${how}: ${org.name}, contract ${c.name} not valid on ${day} (${c.from} – ${c.until ?? 'open'})`;
  return { organisation: org.name, contract: c.name, level: c.level, contractValid: valid, reason };
}

type Organisation = Config['organisations'][number];

/** An organisation's contract valid on a day (`YYYY-MM-DD`), else its latest one (not valid); null: none. */
export function contractOn(org: Organisation, day: string): { contract: Organisation['contracts'][number]; valid: boolean } | null {
  const valid = org.contracts.find((c) => c.from <= day && (!c.until || day <= c.until));
  if (valid) return { contract: valid, valid: true };
  const latest = [...org.contracts].sort((x, y) => y.from.localeCompare(x.from))[0];
  return latest ? { contract: latest, valid: false } : null;
}

/** A level's SLA target for a severity and clock, where its (valid) contract sets one. */
export function levelTarget(config: Config, level: string | null, severity: Severity, clock: 'resolution' | 'first_response'): number | undefined {
  const sla = level ? config.levels[level]?.sla : undefined;
  if (!sla) return undefined;
  return clock === 'resolution' ? sla[severity] : sla.firstResponse[severity];
}

/** The default priority a valid contract's level gives, if any. */
export function levelPriority(config: Config, customer: Customer | null): Priority | undefined {
  return customer?.contractValid && customer.level ? config.levels[customer.level]?.priority : undefined;
}
