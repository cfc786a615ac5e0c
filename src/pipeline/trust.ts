import parseDkimHeaders from 'mailauth/lib/parse-dkim-headers';
import type { TrustConfig } from '../config/schema';
import { errorMessage } from '../lib/errors';
import { raceTimer } from '../lib/race-timer';
import { authservIdOf, parseAuthResults } from './auth-results';
import type { Header } from './types';

/** Looks up DNS records for DKIM keys; mailauth's shape, so tests can answer without a network. */
export type DnsResolver = (name: string, rrtype: string) => Promise<string[][] | string[]>;

/** The fields that decide which ticket an agent's mail acts on and who joins it (thread.ts, actor.ts). */
export type RoutingField = 'subject' | 'to' | 'cc' | 'in-reply-to' | 'references';
const ROUTING_FIELDS: readonly RoutingField[] = ['subject', 'to', 'cc', 'in-reply-to', 'references'];

export interface TrustVerdict {
  trusted: boolean;
  reason: string;
  /**
   * Routing fields the message has that the DKIM signature it was believed by does not cover:
   * anyone who holds a copy of the signed mail could have added them, so they are not acted on.
   */
  unsigned: RoutingField[];
}

/**
 * Fields a message has at most once (RFC 5322 §3.6) that say who wrote it, to whom, about what
 * and in reply to what. A DKIM signature covers the bottom-most copy of a field while mail
 * parsers read the top one, so a copy added on top of a signed mail would be read unsigned.
 */
const ONCE: Record<string, string> = { from: 'From', sender: 'Sender', 'reply-to': 'Reply-To', to: 'To', cc: 'Cc', subject: 'Subject', date: 'Date', 'message-id': 'Message-ID', 'in-reply-to': 'In-Reply-To', references: 'References' };

const untrusted = (reason: string): TrustVerdict => ({ trusted: false, reason, unsigned: [] });

/** How DKIM keys are looked up: the resolver (default: the system's) and how long to wait (default 10 s). */
export interface DkimLookup {
  resolver?: DnsResolver;
  timeoutMs?: number;
  /** The verification of this message already under way (pipeline/prepare.ts starts it before the store's write turn). */
  verified?: Promise<DkimResults>;
}

/** Every DKIM signature of a message, as mailauth verified it. */
export type DkimResults = Awaited<ReturnType<typeof import('mailauth/lib/dkim/verify').dkimVerify>>;

/** Verifies every DKIM signature of `raw` (keys from DNS), giving up after `timeoutMs`. */
export async function verifyDkim(raw: Buffer, { resolver, timeoutMs = 10_000 }: DkimLookup = {}): Promise<DkimResults> {
  // Loaded when first needed: requiring mailauth costs a quarter of a second, which every
  // CLI command (an MTA's pipe into `helpdesk ingest` above all) paid at start, used or not.
  const { dkimVerify } = await import('mailauth/lib/dkim/verify');
  return raceTimer(dkimVerify(raw, resolver ? { resolver } : {}), timeoutMs, () => {
    throw new Error(`no answer within ${timeoutMs / 1000} s`);
  });
}

/**
 * Whether a message whose From is an agent's address may be believed to come from that agent
 * (README "Who is an agent"). Anyone can write any From:, so:
 * - `authentication-results`: the topmost Authentication-Results of our own MTA (authservId)
 *   must say dkim=pass for the agent's domain, or dmarc=pass with header.from that domain;
 * - `dkim`: we verify the DKIM signatures ourselves; one must pass and be the agent's domain;
 * - `from-header`: trusts the From line (only for a mailbox nobody outside can write to).
 * A DKIM signature can be replayed: whoever holds a copy of an agent's signed mail can send it
 * again with fields added. So in both checking modes a message with two copies of a field of
 * ONCE is never believed, nor one whose agent-domain signature signs only part of the body
 * (`l=`: text could follow it) or not the Subject; To, Cc, In-Reply-To and References it does
 * not sign are returned as `unsigned`, for the stages not to act on.
 */
export async function checkTrust(trust: TrustConfig, headers: Header[], raw: Buffer, address: string, lookup: DkimLookup = {}): Promise<TrustVerdict> {
  if (trust.mode === 'from-header') return { trusted: true, reason: 'trust.mode is from-header', unsigned: [] };
  for (const [name, shown] of Object.entries(ONCE)) if (headers.filter((h) => h.name === name).length > 1) return untrusted(`the message has more than one ${shown} header`);
  const domain = address.split('@').pop()?.toLowerCase() ?? '';
  const signatures = domainSignatures(headers, domain);
  // Before any DNS: a signature of the domain that signs only the start of the body is refused
  // whatever verifying it would say.
  if (signatures.some((tags) => tags.l !== undefined)) return untrusted(`a DKIM signature of ${domain} signs only the start of the body (l=): text could have been added after it`);
  if (trust.mode === 'authentication-results') {
    const { verdict, dmarcPass } = readAuthResults(trust.authservId, headers, domain);
    return verdict.trusted ? signedFields(verdict, headers, signatures, domain, dmarcPass) : verdict;
  }
  const verdict = await checkDkim(raw, domain, lookup);
  return verdict.trusted ? signedFields(verdict, headers, signatures, domain, false) : verdict;
}

/**
 * What the agent domain's DKIM signatures (`signatures`, domainSignatures) cover, from their
 * `h=` tags (with several, only what all of them cover; one with `l=` was refused before). A message with no such signature whose DMARC passed
 * (`dmarcPass`) passed on SPF: it came from the domain's own servers, every field with it.
 */
function signedFields(verdict: TrustVerdict, headers: Header[], signatures: ReturnType<typeof domainSignatures>, domain: string, dmarcPass: boolean): TrustVerdict {
  if (signatures.length === 0) {
    return dmarcPass ? verdict : untrusted(`${verdict.reason}, but the message has no DKIM signature of ${domain} to say what it signs`);
  }
  const signed = signatures.map((tags) => new Set(tagValue(tags.h).split(':').map((f) => f.trim().toLowerCase())));
  const unsigned = ROUTING_FIELDS.filter((f) => headers.some((h) => h.name === f) && !signed.every((fields) => fields.has(f)));
  if (unsigned.includes('subject')) return untrusted(`the DKIM signature of ${domain} does not sign the Subject`);
  if (unsigned.length === 0) return verdict;
  return { trusted: true, reason: `${verdict.reason}; ${unsignedNote(unsigned)}`, unsigned };
}

/** The tags of the message's DKIM-Signature headers whose `d=` is `domain`. */
function domainSignatures(headers: Header[], domain: string) {
  return headers
    .filter((h) => h.name === 'dkim-signature')
    .map((h) => parseDkimHeaders(`DKIM-Signature: ${h.value}`).parsed)
    .filter((tags) => tagValue(tags.d).toLowerCase() === domain);
}

/** The routing fields not to act on for a claim: those a believed claim's signature does not sign. */
export function unsignedOf(claim: { trusted: boolean; unsigned: RoutingField[] } | null | undefined): RoutingField[] {
  return claim?.trusted ? claim.unsigned : [];
}

/** How a reason names the routing fields left unused. */
export function unsignedNote(unsigned: readonly RoutingField[]): string {
  return `not signed, so not acted on: ${unsigned.map((f) => ONCE[f]).join(', ')}`;
}

function tagValue(tag: { value: string | number } | string | undefined): string {
  return typeof tag === 'object' ? String(tag.value) : '';
}

/** Only the topmost header our own MTA added counts: lower ones may come from the sender. */
export function checkAuthResults(authservId: string, headers: Header[], domain: string): TrustVerdict {
  return readAuthResults(authservId, headers, domain).verdict;
}

/** The results of the topmost Authentication-Results our MTA wrote: 'missing', 'malformed', or what it says. */
function ourResults(authservId: string, headers: Header[]): NonNullable<ReturnType<typeof parseAuthResults>>['results'] | 'missing' | 'malformed' {
  const id = authservId.toLowerCase();
  const ours = headers.find((h) => h.name === 'authentication-results' && authservIdOf(h.value) === id);
  if (!ours) return 'missing';
  return parseAuthResults(ours.value)?.results ?? 'malformed';
}

/** The verdict of our MTA's results, and whether DMARC passed (possibly on SPF alone). */
function readAuthResults(authservId: string, headers: Header[], domain: string): { verdict: TrustVerdict; dmarcPass: boolean } {
  const results = ourResults(authservId, headers);
  if (results === 'missing') return { verdict: untrusted(`no Authentication-Results from ${authservId}`), dmarcPass: false };
  if (results === 'malformed') return { verdict: untrusted(`the Authentication-Results of ${authservId} is not well-formed`), dmarcPass: false };
  const passes = results.filter((r) => r.result === 'pass');
  const dkim = passes.some((r) => r.method === 'dkim' && (sameDomain(r.props['header.d'], domain) || sameDomain(r.props['header.i']?.split('@').pop(), domain)));
  const dmarcPass = passes.some((r) => r.method === 'dmarc' && sameDomain(r.props['header.from'], domain));
  if (dkim) return { verdict: { trusted: true, reason: `dkim=pass for ${domain} by ${authservId}`, unsigned: [] }, dmarcPass };
  if (dmarcPass) return { verdict: { trusted: true, reason: `dmarc=pass for ${domain} by ${authservId}`, unsigned: [] }, dmarcPass };
  return { verdict: untrusted(`${authservId} reports no dkim=pass or dmarc=pass aligned to ${domain}`), dmarcPass };
}

/**
 * Why the From address of a mail that does not claim to be an agent's is not believed: in
 * `authentication-results` mode, our MTA found that DMARC fails for its domain (the domain
 * publishes that its mail is signed or sent by its own servers, and this one is neither).
 * Such a sender is a stranger to the ticket it names, whoever it claims to be. Null when DMARC
 * does not fail, or the mode cannot tell (`dkim` verifies signatures but not the sending
 * server, so it cannot tell a spoof from a domain's unsigned mail; `from-header` checks nothing).
 */
export function senderDoubt(trust: TrustConfig, headers: Header[], address: string): string | null {
  if (trust.mode !== 'authentication-results') return null;
  const domain = address.split('@').pop()?.toLowerCase() ?? '';
  const results = ourResults(trust.authservId, headers);
  if (typeof results === 'string') return null;
  const fails = results.some((r) => r.method === 'dmarc' && r.result === 'fail' && sameDomain(r.props['header.from'], domain));
  return fails ? `${trust.authservId} reports dmarc=fail for ${domain}` : null;
}

/**
 * Why an address a message gives only in another field than its first From (it had no usable
 * From address: parse.ts senderOf) is not believed in the checking modes: DKIM signatures and
 * our MTA's DMARC verdict speak for the From, so a mail without one could name anyone in Sender
 * or Reply-To. Null in `from-header` mode (which checks nothing) or for a From address.
 */
export function fallbackDoubt(trust: TrustConfig, fromFallback: string | undefined): string | null {
  if (trust.mode === 'from-header' || !fromFallback) return null;
  return `the address is the message's ${fromFallback}, not its From (it has no usable From address), and only a From address is checked`;
}

const sameDomain = (value: string | undefined, domain: string) => value !== undefined && value.toLowerCase() === domain;

async function checkDkim(raw: Buffer, domain: string, lookup: DkimLookup): Promise<TrustVerdict> {
  try {
    const verified = await (lookup.verified ?? verifyDkim(raw, lookup));
    const signatures = verified.results.filter((r) => r.signingDomain);
    const pass = signatures.find((r) => r.status.result === 'pass' && r.signingDomain.toLowerCase() === domain);
    if (pass) return { trusted: true, reason: `DKIM signature of ${domain} verified (selector ${pass.selector ?? '?'})`, unsigned: [] };
    if (signatures.length === 0) return untrusted('the message has no DKIM signature');
    const seen = signatures.map((r) => `${r.signingDomain}: ${r.status.result}${r.status.comment ? ` (${r.status.comment})` : ''}`).join(', ');
    return untrusted(`no passing DKIM signature of ${domain} (${seen})`);
  } catch (err) {
    return untrusted(`DKIM verification failed: ${errorMessage(err)}`);
  }
}
