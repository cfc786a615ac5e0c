import type { TrustConfig } from '../../config/schema';
import { findAgent, isAgentAddress, isOwnAddress } from '../agents';
import type { Header, MailAddress, Stage } from '../types';

/**
 * Who wrote the message: an agent (a configured address that passes the trust check) or a
 * customer. Anyone can write any From:, so with `trust.mode: authentication-results` an
 * agent address only counts when our own MTA vouched for it (DESIGN "Guarantees").
 * Also collects the people to add as participants: CC'd and co-addressed people, and a
 * reply's sender who is not yet on the ticket.
 */
export const actor: Stage = {
  name: 'actor',
  run(draft, ctx) {
    const mail = draft.mail;
    if (!mail) throw new Error('actor stage needs a parsed mail');
    const from = mail.from;
    const participants = new Map<string, MailAddress>();
    const consider = (a: MailAddress) => {
      if (isOwnAddress(ctx.config, a.address) || isAgentAddress(ctx.config, a.address)) return;
      if (from && a.address === from.address) return;
      participants.set(a.address, a);
    };
    mail.to.forEach(consider);
    mail.cc.forEach(consider);

    const agent = from ? findAgent(ctx.config, from.address) : null;
    if (from && agent) {
      const trust = checkTrust(ctx.config.trust, mail.headers, from.address);
      if (trust.trusted) {
        return {
          actor: { role: 'agent', address: from.address, name: from.name || agent.name, agentName: agent.name, reason: trust.reason, trustWarning: null, participants: [...participants.values()] },
        };
      }
      return {
        actor: {
          role: 'customer',
          address: from.address,
          name: from.name || null,
          agentName: null,
          reason: `claims agent address ${from.address} but ${trust.reason}; handled as a customer`,
          trustWarning: `message from ${from.address} not trusted as agent: ${trust.reason}`,
          participants: [...participants.values()],
        },
      };
    }
    const ticket = draft.thread?.ticket;
    if (from && ticket && !ctx.store.isParticipant(ticket.id, from.address) && !isOwnAddress(ctx.config, from.address)) {
      participants.set(from.address, from);
    }
    return {
      actor: {
        role: 'customer',
        address: from?.address ?? null,
        name: from?.name || null,
        agentName: null,
        reason: from ? `${from.address} is not a configured agent` : 'message has no From address',
        trustWarning: null,
        participants: [...participants.values()],
      },
    };
  },
};

/** Whether a message from an agent address may be believed to come from that agent. */
export function checkTrust(trust: TrustConfig, headers: Header[], address: string): { trusted: boolean; reason: string } {
  if (trust.mode === 'from-header') return { trusted: true, reason: 'trust.mode is from-header' };
  const domain = address.split('@')[1]?.toLowerCase() ?? '';
  // Only the results our own MTA added count; the first one is the topmost (latest) hop.
  const ours = headers
    .filter((h) => h.name === 'authentication-results')
    .map((h) => parseAuthResults(h.value))
    .find((r) => r.authservId === trust.authservId.toLowerCase());
  if (!ours) return { trusted: false, reason: `no Authentication-Results from ${trust.authservId}` };
  for (const r of ours.results) {
    if (r.method === 'dkim' && r.result === 'pass' && (r.props['header.d'] === domain || r.props['header.i']?.endsWith(`@${domain}`))) {
      return { trusted: true, reason: `dkim=pass for ${domain} by ${trust.authservId}` };
    }
    if (r.method === 'dmarc' && r.result === 'pass' && r.props['header.from'] === domain) {
      return { trusted: true, reason: `dmarc=pass for ${domain} by ${trust.authservId}` };
    }
  }
  return { trusted: false, reason: `${trust.authservId} reports no dkim=pass or dmarc=pass aligned to ${domain}` };
}

interface AuthResult {
  method: string;
  result: string;
  props: Record<string, string>;
}

/** RFC 8601 Authentication-Results, enough of it for trust decisions. */
export function parseAuthResults(value: string): { authservId: string; results: AuthResult[] } {
  const withoutComments = value.replace(/\([^()]*\)/g, ' ');
  const [idPart, ...parts] = withoutComments.split(';');
  const authservId = (idPart ?? '').trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  const results: AuthResult[] = [];
  for (const part of parts) {
    const tokens = part.trim().split(/\s+/).filter(Boolean);
    const first = tokens.shift();
    if (!first || !first.includes('=')) continue;
    const [method, result] = first.split('=', 2).map((s) => s.toLowerCase());
    const props: Record<string, string> = {};
    for (const t of tokens) {
      const eq = t.indexOf('=');
      if (eq > 0) props[t.slice(0, eq).toLowerCase()] = t.slice(eq + 1).replace(/^"|"$/g, '').toLowerCase();
    }
    results.push({ method, result, props });
  }
  return { authservId, results };
}
