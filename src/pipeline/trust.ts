import type { TrustConfig } from '../config/schema';
import { errorMessage } from '../lib/errors';
import { raceTimer } from '../lib/race-timer';
import { authservIdOf, parseAuthResults } from './auth-results';
import type { Header } from './types';

/** Looks up DNS records for DKIM keys; mailauth's shape, so tests can answer without a network. */
export type DnsResolver = (name: string, rrtype: string) => Promise<string[][] | string[]>;

export interface TrustVerdict {
  trusted: boolean;
  reason: string;
}

/** How DKIM keys are looked up: the resolver (default: the system's) and how long to wait (default 10 s). */
export interface DkimLookup {
  resolver?: DnsResolver;
  timeoutMs?: number;
}

/**
 * Whether a message whose From is an agent's address may be believed to come from that agent
 * (README "Who is an agent"). Anyone can write any From:, so:
 * - `authentication-results`: the topmost Authentication-Results of our own MTA (authservId)
 *   must say dkim=pass for the agent's domain, or dmarc=pass with header.from that domain;
 * - `dkim`: we verify the DKIM signatures ourselves; one must pass and be the agent's domain;
 * - `from-header`: trusts the From line (only for a mailbox nobody outside can write to).
 * A message with more than one From header is never trusted: which one a signature covers
 * and which one a mail client shows may differ.
 */
export async function checkTrust(trust: TrustConfig, headers: Header[], raw: Buffer, address: string, lookup: DkimLookup = {}): Promise<TrustVerdict> {
  if (trust.mode === 'from-header') return { trusted: true, reason: 'trust.mode is from-header' };
  if (headers.filter((h) => h.name === 'from').length > 1) return { trusted: false, reason: 'the message has more than one From header' };
  const domain = address.split('@').pop()?.toLowerCase() ?? '';
  if (trust.mode === 'authentication-results') return checkAuthResults(trust.authservId, headers, domain);
  return checkDkim(raw, domain, lookup);
}

/** Only the topmost header our own MTA added counts: lower ones may come from the sender. */
export function checkAuthResults(authservId: string, headers: Header[], domain: string): TrustVerdict {
  const id = authservId.toLowerCase();
  const ours = headers.find((h) => h.name === 'authentication-results' && authservIdOf(h.value) === id);
  if (!ours) return { trusted: false, reason: `no Authentication-Results from ${authservId}` };
  const parsed = parseAuthResults(ours.value);
  if (!parsed) return { trusted: false, reason: `the Authentication-Results of ${authservId} is not well-formed` };
  for (const r of parsed.results) {
    if (r.result !== 'pass') continue;
    if (r.method === 'dkim' && (sameDomain(r.props['header.d'], domain) || sameDomain(r.props['header.i']?.split('@').pop(), domain))) {
      return { trusted: true, reason: `dkim=pass for ${domain} by ${authservId}` };
    }
    if (r.method === 'dmarc' && sameDomain(r.props['header.from'], domain)) {
      return { trusted: true, reason: `dmarc=pass for ${domain} by ${authservId}` };
    }
  }
  return { trusted: false, reason: `${authservId} reports no dkim=pass or dmarc=pass aligned to ${domain}` };
}

const sameDomain = (value: string | undefined, domain: string) => value !== undefined && value.toLowerCase() === domain;

async function checkDkim(raw: Buffer, domain: string, { resolver, timeoutMs = 10_000 }: DkimLookup): Promise<TrustVerdict> {
  try {
    // Loaded when first needed: requiring mailauth costs a quarter of a second, which every
    // CLI command (an MTA's pipe into `helpdesk ingest` above all) paid at start, used or not.
    const { dkimVerify } = await import('mailauth/lib/dkim/verify');
    const verified = await raceTimer(dkimVerify(raw, resolver ? { resolver } : {}), timeoutMs, () => {
      throw new Error(`no answer within ${timeoutMs / 1000} s`);
    });
    const signatures = verified.results.filter((r) => r.signingDomain);
    const pass = signatures.find((r) => r.status.result === 'pass' && r.signingDomain.toLowerCase() === domain);
    if (pass) return { trusted: true, reason: `DKIM signature of ${domain} verified (selector ${pass.selector ?? '?'})` };
    if (signatures.length === 0) return { trusted: false, reason: 'the message has no DKIM signature' };
    const seen = signatures.map((r) => `${r.signingDomain}: ${r.status.result}${r.status.comment ? ` (${r.status.comment})` : ''}`).join(', ');
    return { trusted: false, reason: `no passing DKIM signature of ${domain} (${seen})` };
  } catch (err) {
    return { trusted: false, reason: `DKIM verification failed: ${errorMessage(err)}` };
  }
}
