import type { Config } from '../config/schema';
import type { Db } from '../store/open';
import { runPlan, sqliteWrites, write, type Plan } from '../store/writes';
import { bodyMarker, ourMessageId, signedToken } from './our-message-id';
import { ticketSubject } from './reply-subject';
import { secretOf } from './store-reader';
import type { PlannedMail, TemplateName, TicketHandle } from './types';

export interface Enqueue {
  mail: PlannedMail;
  ticket: TicketHandle | null;
  /** The message this one answers or reports on, and its thread, for In-Reply-To/References. */
  inReplyTo: string | null;
  references: string[];
  secret: string;
  at: number;
}

/** Clients and servers choke on endless References; keep the root and the newest ones. */
const MAX_REFERENCES = 20;

/**
 * Writes one outbox row, in the caller's transaction, with its Message-ID fixed now and
 * registered in the threading index (docs/ARCHITECTURE.md; "Notifications at least once, recognisably the
 * same"): a resend after a crash is the same message, and a reply to it threads back.
 */
export function enqueueMail(db: Db, config: Config, e: Enqueue): { id: number; messageId: string } {
  return runPlan(enqueuePlan(config, e), sqliteWrites(db));
}

/** enqueueMail as a plan, for apply (store/writes.ts). */
export function* enqueuePlan(config: Config, e: Enqueue): Plan<{ id: number; messageId: string }> {
  const token = signedToken(e.secret, e.ticket?.ref ?? `${config.helpdesk.ticketPrefix}-0`);
  const messageId = ourMessageId(token, config.helpdesk.address);
  const chain = [...e.references, ...(e.inReplyTo ? [e.inReplyTo] : [])].filter((id, i, all) => all.indexOf(id) === i && !id.endsWith('@helpdesk.invalid>'));
  const references = chain.length > MAX_REFERENCES ? [chain[0], ...chain.slice(-(MAX_REFERENCES - 1))] : chain;
  const inReplyTo = e.inReplyTo && !e.inReplyTo.endsWith('@helpdesk.invalid>') ? e.inReplyTo : null;
  const id = yield* write('insertOutbox', {
    ticketId: e.ticket?.id ?? null,
    template: e.mail.template,
    recipients: [e.mail.to],
    messageId,
    data: { ...e.mail.data, ref: e.ticket?.ref ?? null, marker: e.ticket ? bodyMarker(token) : null, reason: e.mail.reason },
    status: 'pending',
    attempts: 0,
    nextAttemptAt: e.at,
    createdAt: e.at,
    subject: e.ticket ? ticketSubject(e.ticket.ref, e.mail.subject, config.helpdesk.ticketPrefix) : e.mail.subject,
    inReplyTo,
    references,
    locale: e.mail.locale,
  });
  if (e.ticket) yield* write('registerMessageId', messageId, e.ticket.id, e.at);
  return { id, messageId };
}

/** The key of the HMAC in our Message-IDs, read in the plan's transaction (store-reader.ts messageIdSecret). */
export function* secretPlan(config: Config): Plan<string> {
  const stored = config.notifications.secret ? null : yield* write('getValue', 'message_id_secret');
  return secretOf(config, () => stored);
}

export interface AdminMail {
  template: TemplateName;
  subject: string;
  reason: string;
  data: Record<string, unknown>;
}

/**
 * One mail about no ticket to every admin (alerts, the digest), in one transaction; the
 * templates see `helpdesk`, `recipient` and `data`. Returns how many admins were written to.
 */
export function enqueueForAdmins(db: Db, config: Config, m: AdminMail, at: number): number {
  return db.transaction((tx) => runPlan(enqueueForAdminsPlan(config, m, at), sqliteWrites(tx)));
}

/** enqueueForAdmins as a plan, for any store (store/writes.ts). */
export function* enqueueForAdminsPlan(config: Config, m: AdminMail, at: number): Plan<number> {
  const admins = config.agents.filter((a) => a.admin);
  const secret = yield* secretPlan(config);
  for (const admin of admins) {
    const data = { helpdesk: { name: config.helpdesk.name, address: config.helpdesk.address }, recipient: { address: admin.email, name: admin.name }, ...m.data };
    yield* enqueuePlan(config, { mail: { template: m.template, to: admin.email, locale: config.helpdesk.locale, reason: m.reason, subject: m.subject, data }, ticket: null, inReplyTo: null, references: [], secret, at });
  }
  return admins.length;
}
