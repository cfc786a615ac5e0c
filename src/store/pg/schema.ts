import { sql } from 'drizzle-orm';
import { pgDotlessLocal } from '../dotless-mailbox';
import { bigint, boolean, customType, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import type { HeaderRow, MailAddressRow } from '../schema';

/**
 * The data model for a PostgreSQL store (issue #25): the same tables, columns and meanings as
 * the SQLite schema (../schema.ts), in PostgreSQL's types. test/integration/pg-schema.test.ts
 * applies both migration sets to real databases and compares what they built.
 *
 * Type mapping: timestamps stay milliseconds since the epoch (UTC), in `bigint`; JSON columns
 * are `jsonb`; SQLite's 0/1 flag is `boolean`; `real` is `double precision`. Row ids are
 * identity columns "by default", so that a copy of a SQLite desk keeps its ids.
 * Change this file, then `npm run db:generate:pg` and commit the new migration.
 */

const ms = (name: string) => bigint(name, { mode: 'number' });
const id = () => integer('id').primaryKey().generatedByDefaultAsIdentity();

export const contacts = pgTable('contacts', {
  id: id(),
  email: text('email').notNull().unique(),
  name: text('name'),
  locale: text('locale'),
  createdAt: ms('created_at').notNull(),
});

export const tickets = pgTable(
  'tickets',
  {
    id: id(),
    ref: text('ref').notNull().unique(),
    subject: text('subject').notNull(),
    status: text('status').notNull(),
    severity: text('severity').notNull(),
    priority: text('priority').notNull(),
    category: text('category'),
    categorySource: text('category_source'),
    queue: text('queue'),
    assignee: text('assignee'),
    tags: jsonb('tags').$type<string[]>().notNull().default([]),
    customerId: integer('customer_id').references(() => contacts.id),
    channel: text('channel'),
    spamVerdict: text('spam_verdict'),
    spamScore: doublePrecision('spam_score'),
    createdAt: ms('created_at').notNull(),
    updatedAt: ms('updated_at').notNull(),
    firstResponseAt: ms('first_response_at'),
    resolvedAt: ms('resolved_at'),
    closedAt: ms('closed_at'),
    dueAt: ms('due_at'),
    firstResponseDueAt: ms('first_response_due_at'),
    pausedAt: ms('paused_at'),
    organisation: text('organisation'),
    contract: text('contract'),
    slaLevel: text('sla_level'),
    rating: integer('rating'),
    ratingComment: text('rating_comment'),
    ratedAt: ms('rated_at'),
    mergedInto: integer('merged_into'),
  },
  (t) => [index('tickets_status').on(t.status), index('tickets_customer').on(t.customerId), index('tickets_assignee_status').on(t.assignee, t.status), index('tickets_category_source').on(t.categorySource)],
);

export const participants = pgTable(
  'participants',
  {
    ticketId: integer('ticket_id')
      .notNull()
      .references(() => tickets.id),
    contactId: integer('contact_id')
      .notNull()
      .references(() => contacts.id),
    role: text('role').notNull(),
    addedAt: ms('added_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.ticketId, t.contactId] })],
);

export const messages = pgTable(
  'messages',
  {
    id: id(),
    ticketId: integer('ticket_id')
      .notNull()
      .references(() => tickets.id),
    direction: text('direction').notNull(),
    kind: text('kind').notNull(),
    messageId: text('message_id').notNull(),
    inReplyTo: text('in_reply_to'),
    references: jsonb('references_ids').$type<string[]>().notNull(),
    fromAddress: text('from_address'),
    fromName: text('from_name'),
    to: jsonb('to_addresses').$type<MailAddressRow[]>().notNull(),
    cc: jsonb('cc_addresses').$type<MailAddressRow[]>().notNull(),
    subject: text('subject').notNull(),
    text: text('text').notNull(),
    html: text('html'),
    headers: jsonb('headers').$type<HeaderRow[]>().notNull(),
    date: ms('date'),
    threadedBy: text('threaded_by'),
    spamScore: doublePrecision('spam_score'),
    rawPath: text('raw_path'),
    createdAt: ms('created_at').notNull(),
  },
  (t) => [index('messages_ticket').on(t.ticketId), index('messages_message_id_from').on(t.messageId, t.fromAddress)],
);

export const messageIds = pgTable('message_ids', {
  messageId: text('message_id').primaryKey(),
  ticketId: integer('ticket_id')
    .notNull()
    .references(() => tickets.id),
  createdAt: ms('created_at').notNull(),
});

export const attachments = pgTable(
  'attachments',
  {
    id: id(),
    messageId: integer('message_id')
      .notNull()
      .references(() => messages.id),
    filename: text('filename').notNull(),
    contentType: text('content_type').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    contentId: text('content_id'),
    inline: boolean('inline').notNull(),
    path: text('path'),
    omittedReason: text('omitted_reason'),
  },
  (t) => [index('attachments_message').on(t.messageId)],
);

export const events = pgTable(
  'events',
  {
    id: id(),
    ticketId: integer('ticket_id')
      .notNull()
      .references(() => tickets.id),
    at: ms('at').notNull(),
    actor: text('actor').notNull(),
    type: text('type').notNull(),
    fromValue: text('from_value'),
    toValue: text('to_value'),
    reason: text('reason'),
  },
  (t) => [index('events_ticket').on(t.ticketId)],
);

export const outbox = pgTable(
  'outbox',
  {
    id: id(),
    ticketId: integer('ticket_id').references(() => tickets.id),
    template: text('template').notNull(),
    recipients: jsonb('recipients').$type<string[]>().notNull(),
    messageId: text('message_id').notNull().unique(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ms('next_attempt_at'),
    lastError: text('last_error'),
    createdAt: ms('created_at').notNull(),
    sentAt: ms('sent_at'),
    subject: text('subject').notNull().default(''),
    inReplyTo: text('in_reply_to'),
    references: jsonb('references_ids').$type<string[]>().notNull().default([]),
    locale: text('locale').notNull().default('en'),
    bounceStatus: text('bounce_status'),
    bouncedAt: ms('bounced_at'),
  },
  (t) => [
    index('outbox_status').on(t.status, t.nextAttemptAt),
    index('outbox_template_created').on(t.template, t.createdAt),
    index('outbox_template_recipient_created').on(t.template, sql`(${t.recipients} ->> 0)`, t.createdAt),
    // A Gmail sender's mailbox (store/dotless-mailbox.ts), as in SQLite's schema.
    index('outbox_template_dotless_created').on(t.template, pgDotlessLocal(sql`(${t.recipients} ->> 0)`), t.createdAt),
  ],
);

export const suppressions = pgTable('suppressions', {
  address: text('address').primaryKey(),
  reason: text('reason').notNull(),
  until: ms('until').notNull(),
  createdAt: ms('created_at').notNull(),
});

export const inbound = pgTable(
  'inbound',
  {
    id: id(),
    rawSha256: text('raw_sha256').notNull(),
    source: text('source').notNull(),
    position: text('position'),
    outcome: text('outcome').notNull(),
    reason: text('reason'),
    ticketId: integer('ticket_id').references(() => tickets.id),
    messageRowId: integer('message_row_id').references(() => messages.id),
    rawPath: text('raw_path'),
    size: bigint('size', { mode: 'number' }).notNull(),
    receivedAt: ms('received_at').notNull(),
  },
  // By source and position: which files a Maildir's cur/ holds that the desk took (maildir.ts).
  (t) => [index('inbound_raw').on(t.rawSha256), index('inbound_outcome').on(t.outcome), index('inbound_source_position').on(t.source, t.position)],
);

export const mailboxState = pgTable('mailbox_state', {
  mailbox: text('mailbox').primaryKey(),
  uidValidity: text('uid_validity'),
  lastUid: bigint('last_uid', { mode: 'number' }).notNull().default(0),
  state: text('state'),
  backlog: integer('backlog'),
  lastCheckAt: ms('last_check_at'),
  lastError: text('last_error'),
  lastErrorAt: ms('last_error_at'),
  updatedAt: ms('updated_at')
    .notNull()
    .default(sql`(extract(epoch from now()) * 1000)::bigint`),
});

export const spamTokens = pgTable('spam_tokens', {
  token: text('token').primaryKey(),
  spamCount: integer('spam_count').notNull().default(0),
  hamCount: integer('ham_count').notNull().default(0),
});

export const spamLearned = pgTable(
  'spam_learned',
  {
    key: text('key').primaryKey(),
    label: text('label').notNull(),
    tokens: jsonb('tokens').$type<string[]>().notNull(),
    learnedAt: ms('learned_at').notNull(),
  },
  (t) => [index('spam_learned_label').on(t.label)],
);

export const keyValue = pgTable('key_value', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

/**
 * Only in PostgreSQL (several daemons share it): which daemon holds which mailbox
 * (src/cluster/leases.ts). `generation` grows with every change of holder, so a daemon that
 * lost its lease can tell, and its late writes can be refused.
 */
export const mailboxLeases = pgTable('mailbox_leases', {
  mailbox: text('mailbox').primaryKey(),
  holder: text('holder').notNull(),
  generation: bigint('generation', { mode: 'number' }).notNull(),
  acquiredAt: ms('acquired_at').notNull(),
  renewedAt: ms('renewed_at').notNull(),
  expiresAt: ms('expires_at').notNull(),
});

/** Only in PostgreSQL: the daemons sharing the database, each seen within the lease TTL is alive (its fair share of mailboxes is counted from them). */
export const clusterMembers = pgTable('cluster_members', {
  holder: text('holder').primaryKey(),
  host: text('host').notNull(),
  pid: integer('pid').notNull(),
  startedAt: ms('started_at').notNull(),
  seenAt: ms('seen_at').notNull(),
});

/** Only in PostgreSQL: one row per scheduled job and tick, claimed by the one daemon that runs it (src/cluster/job-ticks.ts). */
export const jobRuns = pgTable(
  'job_runs',
  {
    job: text('job').notNull(),
    tick: ms('tick').notNull(),
    holder: text('holder').notNull(),
    startedAt: ms('started_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.job, t.tick] })],
);

/** PostgreSQL's bytea, as a Buffer (drizzle has no built-in column for it). */
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/**
 * Only in PostgreSQL: raw mail and attachment bodies, where every daemon can read them (the
 * SQLite store keeps them as files under the data folder). Keyed by the path the rows name
 * (`raw/ab/<sha256>.eml`, `attachments/ab/<sha256>`), so rows copied from SQLite stay valid.
 */
export const blobs = pgTable('blobs', {
  path: text('path').primaryKey(),
  sha256: text('sha256').notNull(),
  size: bigint('size', { mode: 'number' }).notNull(),
  content: bytea('content').notNull(),
});
