import { findAgentNamed } from './agents';
import { PRIORITIES, SEVERITIES, STATUSES, type Config } from '../config/schema';
import type { TicketChange, TicketRow } from '../store/tickets';
import { countedTime, dueDate, firstResponseDue, movedBy } from './sla';

export const EDITABLE = ['status', 'priority', 'severity', 'category', 'queue', 'assignee'] as const;

/** A change to one ticket field, with what it implies (a new due date for a new severity). */
export interface FieldChange extends TicketChange {
  field: (typeof EDITABLE)[number];
}

export type TicketView = Pick<TicketRow, 'status' | 'priority' | 'severity' | 'category' | 'queue' | 'assignee' | 'createdAt' | 'dueAt' | 'firstResponseDueAt' | 'firstResponseAt' | 'pausedAt' | 'slaLevel'>;

/**
 * Validates a staff change (`helpdesk tickets set`, later agent commands) and works out
 * what follows from it. Pure: throws an Error with a message for the person who asked.
 */
/**
 * What a status change does to the SLA clocks (`sla.pauseWhilePending`): into `pending` they
 * stop; out of it the due times move by the time that counted meanwhile (business time with
 * business hours), and the first-response one only while no response was given.
 */
function clockPause(ticket: TicketView, to: string, config: Config, at: number): { also: TicketChange['also']; reason?: string } {
  if (to === 'pending' && ticket.pausedAt === null && config.sla.pauseWhilePending) return { also: { pausedAt: at } };
  if (to === 'pending' || ticket.pausedAt === null) return { also: {} };
  const paused = countedTime(ticket.pausedAt, at, config);
  const also: TicketChange['also'] = { pausedAt: null };
  if (paused > 0 && ticket.dueAt !== null) also.dueAt = movedBy(ticket.dueAt, ticket.pausedAt, at, config);
  if (paused > 0 && ticket.firstResponseDueAt !== null && ticket.firstResponseAt === null) also.firstResponseDueAt = movedBy(ticket.firstResponseDueAt, ticket.pausedAt, at, config);
  return { also, reason: `pending from ${new Date(ticket.pausedAt).toISOString()}: the SLA clocks stood still for ${Math.round(paused / 60000)} min` };
}

export function planChange(ticket: TicketView, field: string, raw: string, config: Config, at: number): FieldChange {
  const value = raw.trim();
  const oneOf = (allowed: readonly string[]) => {
    if (!allowed.includes(value)) throw new Error(`${field} must be one of ${allowed.join(', ')}`);
  };
  switch (field) {
    case 'status': {
      oneOf(STATUSES);
      const clocks = clockPause(ticket, value, config, at);
      return {
        field,
        from: ticket.status,
        to: value,
        also: { resolvedAt: value === 'resolved' ? at : value === 'closed' ? undefined : null, closedAt: value === 'closed' ? at : null, ...clocks.also },
        dueReason: clocks.reason,
      };
    }
    case 'priority':
      oneOf(PRIORITIES);
      return { field, from: ticket.priority, to: value, also: {} };
    case 'severity': {
      oneOf(SEVERITIES);
      // Both clocks run from arrival with the new severity's targets (a pause taken so far is
      // not carried over: the new targets are counted afresh).
      const severity = value as (typeof SEVERITIES)[number];
      const firstDue = ticket.firstResponseAt === null ? (firstResponseDue(ticket.createdAt, severity, config, ticket.slaLevel)?.at ?? null) : undefined;
      return { field, from: ticket.severity, to: value, also: { dueAt: dueDate(ticket.createdAt, severity, config, ticket.slaLevel).at, firstResponseDueAt: firstDue } };
    }
    case 'category':
      if (!value) throw new Error('category must not be empty');
      // A person's choice: it trains the category predictor.
      return { field, from: ticket.category, to: value, also: { categorySource: 'staff' } };
    case 'queue':
      return { field, from: ticket.queue, to: value || null, also: {} };
    case 'assignee': {
      if (value === '' || value === 'none') return { field, from: ticket.assignee, to: null, also: {} };
      const agent = findAgentNamed(config, value);
      if (!agent) throw new Error(`unknown agent ${value} (agents: ${config.agents.map((a) => a.email).join(', ')})`);
      return { field, from: ticket.assignee, to: agent.email, also: {} };
    }
    default:
      throw new Error(`cannot set ${field}; editable fields: ${EDITABLE.join(', ')}`);
  }
}
