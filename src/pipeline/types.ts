import type { AnswerBook } from '../knowledge/answers';
import type { Config, Priority, Severity, TicketStatus } from '../config/schema';
import type { Logger } from '../lib/log';
import type { HeaderRow, MailAddressRow } from '../store/schema';
import type { TicketCore } from '../store/tickets';
import type { ParseAhead } from './parse-ahead';
import type { Prepared } from './prepare';
import type { CategoryPredictor } from './category-model';
import type { SpamDecision } from '../spam/classify';
import type { LessonResult } from '../spam/correct';
import type { SpamLabel } from '../store/spam';
import type { Classification } from './stages/classify';
import type { FieldChange } from './changes';
import type { DnsResolver, RoutingField } from './trust';
import type { Customer } from './customers';

export type MailAddress = MailAddressRow;
export type Header = HeaderRow;

/** How the position of a message taken from an IMAP junk folder begins (RawMessage.filedAsJunk); an inbox's positions are bare UIDs. */
export const JUNK_POSITION = 'junk:';

/**
 * Whether a message the desk read (its first inbound row: source and position) is still where
 * the desk left it, as its source can tell: the inbox's cur/ of a Maildir, the IMAP folder
 * its acknowledgement leaves it in. Asked of a message found in the junk folder (spam/
 * junk-folder.ts learnJunkFound): a copy filed there, not a move. False when unknown.
 */
export type DeskCopyHeld = (read: { source: string; position: string | null }) => Promise<boolean>;

/** A raw message as a source hands it over, before anything is known about it. */
export interface RawMessage {
  bytes: Buffer;
  /** Where it came from, for the record: a file path, `-` for stdin, `imap:support`. */
  source: string;
  /** Position inside the source (IMAP UID, `junk:<UID>` in the junk folder, maildir file name, mbox index), when there is one. */
  position: string | null;
  /** The configured mailbox id it arrived through, when it came from a mailbox. */
  mailbox: string | null;
  /**
   * A message over `limits.maxMessageSize` that was never read into memory: `bytes` is empty,
   * and the message is `size` bytes in `file`; it is copied into the store as it streams by,
   * and quarantined. A Buffer path names a file byte for byte (a Maildir name that is not UTF-8).
   */
  oversized?: { file: string | Buffer; size: number };
  /**
   * The folder (an IMAP mailbox's junk folder) where the mail server's own spam filter put the
   * message before the desk read it: the spam stage weighs that (stages/spam.ts).
   */
  filedAsJunk?: string;
}

export interface InboundAttachment {
  /** Sanitised: no directories, no control characters, never empty. */
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  contentId: string | null;
  inline: boolean;
  content: Buffer;
}

/** Our own view of a parsed message; nothing outside the parse stage sees mailparser's types. */
export interface InboundMail {
  /** In angle brackets. Synthetic (`<sha256@helpdesk.invalid>`) when the message had none. */
  messageId: string;
  messageIdSynthetic: boolean;
  inReplyTo: string | null;
  references: string[];
  from: MailAddress | null;
  /** Set when `from` is not the address of the message's first From field (it had none usable): the field it was taken from. */
  fromFallback?: 'a second From' | 'Sender' | 'Reply-To';
  to: MailAddress[];
  cc: MailAddress[];
  replyTo: MailAddress[];
  subject: string;
  text: string;
  html: string | null;
  /** The html's tags and layout attributes as sent, before sanitising (spam/markup.ts): for the spam filter. */
  markup?: string[];
  date: Date | null;
  headers: Header[];
  attachments: InboundAttachment[];
}

export type ThreadedBy = 'references' | 'in-reply-to' | 'tag' | 'new';

export interface TicketHandle {
  id: number;
  ref: string;
}

export interface ThreadDecision {
  ticket: TicketHandle | null;
  threadedBy: ThreadedBy;
  reason: string;
  /** A ticket this one must be linked to: someone used its tag without being a participant. */
  linkTo: TicketHandle | null;
  /**
   * Found by the subject's `[HD-n]` tag alone, from a participant's address: anyone can write
   * both, so nothing shows the sender ever received the ticket's mail (actor.ts adds nobody).
   */
  byTagAlone?: boolean;
}

/** A message whose From is a configured agent's address, and whether the trust check believed it. */
export interface AgentClaim {
  /** The agent's configured address (the From may be one of its aliases). */
  agent: string;
  agentName: string;
  trusted: boolean;
  reason: string;
  /** Of a believed claim: the routing fields its DKIM signature does not sign, not acted on (trust.ts). */
  unsigned: RoutingField[];
}

export interface ActorDecision {
  role: 'agent' | 'customer';
  address: string | null;
  name: string | null;
  /** The agent's configured name when role is agent. */
  agentName: string | null;
  reason: string;
  /** Set when the message claims an agent address but fails the trust check. */
  trustWarning: string | null;
  /** Addresses to add to the ticket as participants (the customer's or a trusted agent's To/Cc). */
  participants: MailAddress[];
  /** Addresses that would have become participants but for limits.maxParticipants (kept on the message). */
  participantsNotAdded: string[];
  /** To/Cc entries that are not mail addresses (`<>`, `<@>`, a bare word), kept on the message only. */
  participantsUnusable: string[];
  /** Addresses of a customer's reply found by its tag alone (ThreadDecision.byTagAlone): not made participants, kept on the message. */
  participantsUnproven: string[];
}

export interface NewTicketDecision {
  subject: string;
  status: TicketStatus;
  priority: Priority;
  severity: Severity;
  category: string;
  categorySource: string;
  queue: string | null;
  assignee: string | null;
  tags: string[];
  spamVerdict: SpamDecision['verdict'] | null;
  spamScore: number | null;
  /** Resolution due time. */
  dueAt: number;
  firstResponseDueAt: number | null;
  organisation: string | null;
  contract: string | null;
  /** The contract level whose SLA targets apply (null: the desk's `sla`). */
  slaLevel: string | null;
  /** Why each field has its value, keyed by field name. */
  reasons: Record<string, string>;
}

/** A field's value and why it has it. */
export interface Decided<T> {
  value: T;
  reason: string;
}

/** Routing of a new ticket by config/rules.yaml and the triage settings. */
export interface RouteDecision {
  /** Rules that matched, in order, with the conditions that held. */
  rules: { name: string; why: string[] }[];
  category: Decided<string> & { source: 'rule' | 'predicted' | 'default'; confidence: number | null };
  priority: Decided<Priority>;
  severity: Decided<Severity>;
  queue: Decided<string | null>;
  tags: string[];
  /** The sender's organisation and contract (config/customers.yaml), looked up once here. */
  customer: Customer | null;
  /** What the matching rule asked for; the assign stage decides who. */
  assign: { agent: string; reason: string } | { group: string; strategy: Strategy; reason: string } | null;
}

export type Strategy = 'round_robin' | 'least_open' | 'random';

export interface AssignDecision {
  assignee: string | null;
  reason: string;
  /** Round robin: the pointer to store for the group, so fairness survives restarts. */
  roundRobin: { group: string; agent: string } | null;
  /** Nobody could take it: who must hear about the unassigned ticket. */
  notifyUnassigned: string[];
}

/** `ignored`: kept and recorded but no ticket (a bounce for mail we never sent). */
export type Outcome = 'created' | 'appended' | 'duplicate' | 'quarantined' | 'ignored';

/** The templates the help desk sends (templates/<locale>/<name>.{text,html}.hbs). */
export const TEMPLATES = ['ack', 'assigned', 'customer_replied', 'agent_reply', 'status_changed', 'assignee_changed', 'sla_warning', 'sla_breach', 'unassigned', 'mailbox_unhealthy', 'command_error', 'reply_undelivered', 'digest', 'not_believed'] as const;
export type TemplateName = (typeof TEMPLATES)[number];

/** One mail to send, decided by the notify stage; apply turns it into an outbox row. */
export interface PlannedMail {
  template: TemplateName;
  to: string;
  locale: string;
  reason: string;
  /** The ticket's subject (sent as `[HD-1] subject`), or the whole subject of mail about no ticket. */
  subject: string;
  /** What the template shows, as it was when the mail was decided. */
  data: Record<string, unknown>;
  /** Threading headers when they are not the triggering message's (a relay joins the customer's thread). */
  thread?: { inReplyTo: string | null; references: string[] };
}

/** A command line at the top of a reply (`#status resolved`). */
export interface ReplyCommand {
  name: string;
  arg: string;
  line: string;
}

/** What a reply on an existing ticket changes (the commands stage; applied all together or not at all). */
export interface TicketUpdate {
  ticket: TicketHandle;
  /** `agent:ana@x` or the customer's address. */
  actor: string;
  /** The reply without quoted history, signature and command lines. */
  text: string;
  commands: ReplyCommand[];
  changes: FieldChange[];
  /** `#note`: stored as an internal note, never sent to the customer. */
  note: boolean;
  /** The text goes to the customer (and participants), from the support address. */
  relay: boolean;
  /** Agent's first answer: sets first_response_at. */
  firstResponse: boolean;
  cc: MailAddress[];
  merge: TicketHandle | null;
  spamLabel: 'spam' | 'ham' | null;
  rating: { score: number; comment: string | null } | null;
  /** A customer's reply to a resolved ticket that only thanks: stored, the ticket stays resolved. */
  thanked: boolean;
  /** `#lang es`: the customer's language from now on (an agent's word beats detection). */
  locale: string | null;
  /** `#time 30m`: time the agent spent, for the reports. */
  timeSpent: number | null;
  /** `#answer <name>`: the canned answers put into the text, in order. */
  answers: string[];
  /** Invalid or unknown commands: nothing above is applied; the agent gets one error reply. */
  errors: string[];
  /** A customer's commands that were not applied, and why (the rest of the reply still is). */
  ignored: string[];
  reason: string;
}

export interface NotifyDecision {
  mails: PlannedMail[];
  /** Mails that would have gone out but were held back, and why (recorded as events). */
  withheld: string[];
  /** Set when this sender floods the ticket: notifications stop and a warning is recorded. */
  floodWarning: string | null;
  /** Why this message triggers nothing at all (automatic, bulk, no-reply...), when it does not. */
  quiet: string | null;
}

/** What a delivery status notification says (see bounce-report.ts). */
export interface BounceReport {
  /** Message-IDs of the original message it reports on, best first. */
  originalMessageIds: string[];
  recipient: string | null;
  /** Enhanced status code such as 5.1.1, when one was found. */
  status: string | null;
  diagnostic: string | null;
  /** 5.1.x: the address does not exist; automatic mail to it is suppressed for a while. */
  hard: boolean;
}

export interface BounceDecision {
  report: BounceReport;
  /** Our outbox row the bounce is about, when it was matched. */
  outbox: BouncedOutbox | null;
  reason: string;
}

/** The outbox row a bounce reports on: its recipient, ticket, and what it was (a relayed reply is told to its agent). */
export interface BouncedOutbox {
  id: number;
  recipient: string;
  ticket: TicketHandle | null;
  template: string;
  data: Record<string, unknown>;
  /** The status of the last report matched to it before this one (null: none was). */
  bounceStatus: string | null;
}

/** What the pipeline knows about one message so far; each stage adds its part. */
export interface Draft {
  raw: RawMessage;
  rawSha256: string;
  /** Path of the stored raw bytes, relative to the data dir. */
  rawPath: string;
  receivedAt: number;
  mail?: InboundMail;
  /** Set by the authenticate stage when the From is an agent's address; null when it is not. */
  agentClaim?: AgentClaim | null;
  /** Why the From address of a mail not claiming to be an agent's is not believed (trust.ts senderDoubt): its sender is a stranger. */
  senderDoubt?: string | null;
  thread?: ThreadDecision;
  actor?: ActorDecision;
  classification?: Classification;
  spam?: SpamDecision;
  route?: RouteDecision;
  assignment?: AssignDecision;
  newTicket?: NewTicketDecision;
  bounce?: BounceDecision;
  update?: TicketUpdate;
  /** Set by the forward stage: the agent who forwarded a customer's mail to us. */
  forwardedBy?: { address: string; reason: string };
  /** Set by the forward stage: an agent forwarded a message attached that could not be read; the ticket stays the agent's. */
  forwardUnread?: { address: string; reason: string };
  notify?: NotifyDecision;
  /** Set by a stage that ends processing early: the message gets this outcome. */
  stop?: { outcome: 'duplicate' | 'quarantined' | 'ignored'; reason: string; ticket: string | null };
}

/**
 * Read-only queries the stages may ask of the store. Asynchronous, though SQLite answers at
 * once: the PostgreSQL store (docs/CLUSTER.md) answers over the network, on the connection of
 * the batch the message joins, so that it sees the batch's own rows as SQLite does.
 */
export interface StoreReader {
  /** The ticket of an earlier, successfully processed copy of exactly these bytes. */
  processedRaw(sha256: string): Promise<{ ticketRef: string | null } | null>;
  /** The ticket of an inbound message with this Message-ID from this sender. */
  inboundMessage(messageId: string, from: string | null): Promise<{ ticketRef: string } | null>;
  /** For each known Message-ID, its ticket. */
  ticketsByMessageIds(ids: string[]): Promise<Map<string, TicketHandle>>;
  /** The ticket a ref lives in now, merges followed (merged-tickets.ts); `mergedFrom` is the ref asked for when it was merged. */
  ticketByRef(ref: string): Promise<(TicketHandle & { mergedFrom?: string }) | null>;
  isParticipant(ticketId: number, address: string): Promise<boolean>;
  /** Open (new, open, pending) tickets per assignee address. */
  openTicketCounts(assignees: string[]): Promise<Map<string, number>>;
  /** The agent round robin gave the group's last ticket to. */
  roundRobinLast(group: string): Promise<string | null>;
  /** Spam model counts of these tokens, and how many messages of each kind were learnt. */
  spamCounts(tokens: string[]): Promise<Map<string, { spam: number; ham: number }>>;
  spamTotals(): Promise<{ spam: number; ham: number }>;
  /** The key of the HMAC in our Message-IDs (config, else the one generated in the store). */
  messageIdSecret(): Promise<string>;
  /** Our outbox row that had one of these Message-IDs, if any. */
  outboxByMessageIds(ids: string[]): Promise<BouncedOutbox | null>;
  /** What notifications need to know about an existing ticket. */
  ticketInfo(id: number): Promise<TicketInfo | null>;
  /** Mails of this template enqueued to this address (its mailbox: plus-addresses included) since `since`. */
  sentSince(template: TemplateName, address: string, since: number): Promise<number>;
  /** Whether the ticket's customer was ever sent (or queued) an acknowledgement. */
  ticketAcknowledged(ticketId: number): Promise<boolean>;
  /** Inbound messages from this address on this ticket since `since`. */
  messagesFromSince(ticketId: number, address: string, since: number): Promise<number>;
  /** Whether the ticket has an event of this type since `since`. */
  hasEventSince(ticketId: number, type: string, since: number): Promise<boolean>;
  /** Until when automatic mail to this address is suppressed (a hard bounce), or null. */
  suppressedUntil(address: string, now: number): Promise<number | null>;
  /** The language recorded for a contact, if any. */
  contactLocale(address: string): Promise<string | null>;
  /** A ticket's people: the customer, CC'd participants, agents. */
  participants(ticketId: number): Promise<{ email: string; name: string | null; role: string }[]>;
  /** Message-IDs the customer has seen on this ticket (theirs and ours to them), oldest first. */
  customerThread(ticketId: number): Promise<string[]>;
  /** The customer's latest message on the ticket, for quoting. */
  lastCustomerMessage(ticketId: number): Promise<{ from: string | null; fromName: string | null; subject: string; text: string } | null>;
  /** The newest internal notes of a ticket, for agents' notifications. */
  recentNotes(ticketId: number, limit: number): Promise<{ from: string | null; text: string; at: number }[]>;
}

/** A stored ticket as the stages see it: times in ms. */
export interface TicketInfo extends TicketCore {
  id: number;
  /** Resolution due time. */
  dueAt: number | null;
  firstResponseDueAt: number | null;
  /** Since when the SLA clocks stand still (pending), or null. */
  pausedAt: number | null;
  organisation: string | null;
  contract: string | null;
  slaLevel: string | null;
  createdAt: number;
  closedAt: number | null;
  firstResponseAt: number | null;
  spamScore: number | null;
}

export interface StageContext {
  config: Config;
  store: StoreReader;
  now: () => number;
  log: Logger;
  /** For the random strategy; injectable so tests are repeatable. */
  random?: () => number;
  /** Snapshot of the trained category predictor, when there is one. */
  categoryModel?: CategoryPredictor | null;
  /** Early parses of upcoming messages (parse-ahead.ts), when the caller started any. */
  parseAhead?: ParseAhead;
  /** DNS for `trust.mode: dkim` (tests answer without a network); default: the system's. */
  dnsResolver?: DnsResolver;
  /** The message's parse and DKIM verification, when the caller did them before the store's write turn (prepare.ts). */
  prepared?: Prepared;
  /**
   * The desk's canned answers (`#answer`), kept by the caller (the daemon's composition root
   * re-reads them when their files change): the stage reads no files.
   */
  answers: () => AnswerBook;
}

/** One step of the pipeline (STYLE 1): reads the draft, returns what it adds. */
export interface Stage {
  name: string;
  run(draft: Draft, ctx: StageContext): Partial<Draft> | Promise<Partial<Draft>>;
}

/** What ingesting one message came to; also the `helpdesk ingest --json` line. */
export interface IngestResult {
  source: string;
  outcome: Outcome;
  ticket: string | null;
  threadedBy: ThreadedBy | null;
  reason: string | null;
  /** The spam verdict the message got, when it was classified. */
  spam?: SpamDecision['verdict'] | null;
  /** What the message's lesson to the spam filter did (see Lesson), when it taught one. */
  lesson?: LessonOutcome;
}

/**
 * What staff did with a message that teaches the spam filter (pipeline/run.ts decides): the
 * ticket's first inbound message is learnt as `label`. The target's apply learns it inside the
 * message's own transaction, so the message and its lesson are stored together or not at all.
 */
export interface Lesson {
  ticketId: number;
  label: SpamLabel;
  /** Why, for the log: the command, or the agent's answer and the score the filter gave. */
  why: string;
}

/** How a lesson went: learnt (or already so), or why it could not be (the message is stored all the same). */
export type LessonOutcome = { learnt: LessonResult } | { failed: string };
