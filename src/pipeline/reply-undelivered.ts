import type { Config } from '../config/schema';
import { write, type Plan } from '../store/writes';
import { findAgent } from './agents';
import { enqueuePlan, secretPlan } from './enqueue';

/** What is known of an outbox row whose mail did not arrive. */
export interface UndeliveredRow {
  id: number;
  ticketId: number | null;
  ref: string | null;
  template: string;
  recipients: string[];
  data: Record<string, unknown>;
}

/** A server's or a report's words are shown as they came, up to this many characters (a report's sender chooses them). */
const MAX_WHY = 1000;

/**
 * An agent's reply that never reached the customer (the server refused it for good, or a
 * 5.x.x bounce names its recipient) is told to the agent who wrote it, by mail: they answer from their own
 * mail client and would otherwise believe the customer has the answer. Only relayed replies:
 * our own notices failing say nothing more (no mail about mail about mail), and the notice
 * goes only to an address that is an agent's today. Written in the transaction that records
 * the failure; `ticket_id` and its subject as the reply had them.
 */
export function* replyUndeliveredPlan(config: Config, row: UndeliveredRow, reported: string, at: number): Plan<void> {
  if (row.template !== 'agent_reply' || row.ticketId === null || row.ref === null) return;
  const why = reported.length > MAX_WHY ? `${reported.slice(0, MAX_WHY)}…` : reported;
  const author = typeof row.data.agentAddress === 'string' ? findAgent(config, row.data.agentAddress) : null;
  if (!author) return;
  const ticket = (row.data.ticket ?? {}) as { subject?: unknown };
  const subject = typeof ticket.subject === 'string' ? ticket.subject : '';
  const reply = (row.data.reply ?? {}) as { text?: unknown };
  const secret = yield* secretPlan(config);
  const to = row.recipients.join(', ');
  yield* enqueuePlan(config, {
    mail: {
      template: 'reply_undelivered',
      to: author.email,
      locale: config.helpdesk.locale,
      reason: `the reply relayed to ${to} (outbox ${row.id}) was not delivered: ${why}`,
      subject,
      data: {
        helpdesk: { name: config.helpdesk.name, address: config.helpdesk.address },
        ticket: row.data.ticket ?? null,
        recipient: { address: author.email, name: author.name },
        undelivered: { to, error: why, reply: typeof reply.text === 'string' ? reply.text : '' },
      },
    },
    ticket: { id: row.ticketId, ref: row.ref },
    inReplyTo: null,
    references: [],
    secret,
    at,
  });
  yield* write('addEvent', { ticketId: row.ticketId, at, actor: 'system', type: 'reply_undelivered', to: author.email, reason: `${author.email} told that the reply to ${to} did not arrive` });
}
