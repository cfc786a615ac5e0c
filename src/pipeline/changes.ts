import { PRIORITIES, SEVERITIES, STATUSES, type Config } from '../config/schema';
import type { TicketChange, TicketRow } from '../store/tickets';
import { dueDate } from './sla';

export const EDITABLE = ['status', 'priority', 'severity', 'category', 'queue', 'assignee'] as const;

/** A change to one ticket field, with what it implies (a new due date for a new severity). */
export interface FieldChange extends TicketChange {
  field: (typeof EDITABLE)[number];
}

type TicketView = Pick<TicketRow, 'status' | 'priority' | 'severity' | 'category' | 'queue' | 'assignee' | 'createdAt'>;

/**
 * Validates a staff change (`helpdesk tickets set`, later agent commands) and works out
 * what follows from it. Pure: throws an Error with a message for the person who asked.
 */
export function planChange(ticket: TicketView, field: string, raw: string, config: Config, at: number): FieldChange {
  const value = raw.trim();
  const oneOf = (allowed: readonly string[]) => {
    if (!allowed.includes(value)) throw new Error(`${field} must be one of ${allowed.join(', ')}`);
  };
  switch (field) {
    case 'status':
      oneOf(STATUSES);
      return {
        field,
        from: ticket.status,
        to: value,
        also: { resolvedAt: value === 'resolved' ? at : value === 'closed' ? undefined : null, closedAt: value === 'closed' ? at : null },
      };
    case 'priority':
      oneOf(PRIORITIES);
      return { field, from: ticket.priority, to: value, also: {} };
    case 'severity': {
      oneOf(SEVERITIES);
      // The SLA runs from arrival with the new severity's target.
      return { field, from: ticket.severity, to: value, also: { dueAt: dueDate(ticket.createdAt, value as (typeof SEVERITIES)[number], config).at } };
    }
    case 'category':
      if (!value) throw new Error('category must not be empty');
      // A person's choice: it trains the category predictor.
      return { field, from: ticket.category, to: value, also: { categorySource: 'staff' } };
    case 'queue':
      return { field, from: ticket.queue, to: value || null, also: {} };
    case 'assignee': {
      if (value === '' || value === 'none') return { field, from: ticket.assignee, to: null, also: {} };
      const agent = config.agents.find((a) => a.email === value.toLowerCase() || a.name.toLowerCase() === value.toLowerCase() || a.aliases.includes(value.toLowerCase()));
      if (!agent) throw new Error(`unknown agent ${value} (agents: ${config.agents.map((a) => a.email).join(', ')})`);
      return { field, from: ticket.assignee, to: agent.email, also: {} };
    }
    default:
      throw new Error(`cannot set ${field}; editable fields: ${EDITABLE.join(', ')}`);
  }
}
