import { holidaysLib } from '../lib/holidays';
import { z } from 'zod';
import { validate as validateCron } from 'node-cron';
import bytes from 'bytes';
import { DURATION, parseDuration } from '../lib/duration';

/**
 * The config files' shape (README "Configuration"). More keys may come; the ones here mean what
 * README's tables say. Defaults are filled in so that the rest of the code never checks for absence.
 */

function knownRegion(country: string, region: string | undefined): boolean {
  const countries = new (holidaysLib())().getCountries() as Record<string, string> | undefined;
  if (!countries?.[country]) return false;
  if (region === undefined) return true;
  const states = new (holidaysLib())().getStates(country) as Record<string, string> | undefined;
  return Boolean(states?.[region]);
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const duration = z
  .string()
  .regex(DURATION, 'expected a duration such as 30m, 4h, 2d or 1h30m')
  .transform((s) => parseDuration(s) as number);

const cron = z.string().refine((s) => validateCron(s), { message: 'expected a cron expression such as "*/5 * * * *" (minute hour day month weekday)' });

const size = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB)$/i, 'expected a size such as 512KB, 25MB or a number of bytes')
    // The pattern is the grammar we document; `bytes` (1 KB = 1024 B) does the arithmetic.
    .transform((s) => bytes.parse(s) as number),
]);

/** The languages templates ship in (templates/<locale>/). */
export const LOCALES = ['en', 'es'] as const;
/** The rating levels shipped: five, labelled in each shipped language. */
const DEFAULT_RATINGS: Record<string, string | Partial<Record<(typeof LOCALES)[number], string>>> = {
  '1': { en: 'poor', es: 'malo' },
  '2': { en: 'fair', es: 'regular' },
  '3': { en: 'good', es: 'bueno' },
  '4': { en: 'very good', es: 'muy bueno' },
  '5': { en: 'excellent', es: 'excelente' },
};
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export const PRIORITIES = ['high', 'medium', 'low'] as const;
export const STATUSES = ['new', 'open', 'pending', 'resolved', 'closed', 'spam'] as const;
export type Severity = (typeof SEVERITIES)[number];
export type Priority = (typeof PRIORITIES)[number];
export type TicketStatus = (typeof STATUSES)[number];

const isoDate = z.iso.date({ message: 'expected a date such as 2026-12-24' });

const email = z.email({ message: 'expected an email address' }).transform((s) => s.toLowerCase());

const imapSchema = z
  .strictObject({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(993),
    /** true: TLS from the first byte (993); false: STARTTLS when the server offers it (143). */
    secure: z.boolean().default(true),
    user: z.string().min(1),
    pass: z.string().optional(),
    /** XOAUTH2 (Microsoft 365, Gmail): the access token is read at every connect. */
    oauth2: z
      .strictObject({ tokenEnv: z.string().optional(), tokenCommand: z.string().optional() })
      .refine((o) => (o.tokenEnv ? 1 : 0) + (o.tokenCommand ? 1 : 0) === 1, { message: 'oauth2 needs exactly one of tokenEnv or tokenCommand' })
      .optional(),
    tls: z
      .strictObject({
        /** PEM file of a private CA to trust in addition to the system ones. */
        caFile: z.string().optional(),
        rejectUnauthorized: z.boolean().default(true),
      })
      .prefault({}),
  })
  .refine((i) => (i.pass !== undefined ? 1 : 0) + (i.oauth2 ? 1 : 0) === 1, { message: 'imap needs exactly one of `pass` or `oauth2`' });

const mailboxSchema = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected an id of letters, digits, - and _'),
    imap: imapSchema.optional(),
    maildir: z.string().min(1).optional(),
    folders: z
      .strictObject({
        inbox: z.string().default('INBOX'),
        processed: z.string().default('Processed'),
        junk: z.string().default('Junk'),
        quarantine: z.string().default('Quarantine'),
      })
      .prefault({}),
    ack: z.enum(['move', 'flag', 'delete']).default('move'),
    pollInterval: duration.default(parseDuration('60s') as number),
    /** How often the junk folder is checked for what staff moved there (learnt as spam): IMAP, or a Maildir on its next scan. */
    junkScanInterval: duration.default(parseDuration('60s') as number),
    /** Also take the mail the mail server's spam filter files into the junk folder (IMAP, or a Maildir's `.Junk`; stages/spam.ts weighs it). */
    readJunk: z.boolean().default(true),
  })
  .refine((m) => (m.imap ? 1 : 0) + (m.maildir ? 1 : 0) === 1, {
    message: 'a mailbox needs exactly one of `imap` or `maildir`',
  })
  .superRefine((m, ctx) => {
    // Two roles in one IMAP folder make a loop or a wrong lesson: processed mail moved back into
    // the inbox is read again for ever; every message taken from a junk folder that is also the
    // processed one would look like a staff move and mark its ticket spam.
    if (!m.imap) return;
    const roles = (['inbox', 'processed', 'junk', 'quarantine'] as const).filter((r) => r !== 'processed' || m.ack === 'move');
    // The server's INBOX is case-insensitive (RFC 3501); other names are compared as written.
    const name = (folder: string) => (folder.toUpperCase() === 'INBOX' ? 'INBOX' : folder);
    for (const [i, a] of roles.entries()) {
      const b = roles.slice(i + 1).find((r) => name(m.folders[r]) === name(m.folders[a]));
      if (b) ctx.addIssue({ code: 'custom', path: ['folders', b], message: `"${m.folders[b]}" is folders.${a} too; each role needs a folder of its own` });
    }
  });

export const helpdeskFileSchema = z.strictObject({
  $schema: z.string().optional(),
  helpdesk: z.strictObject({
    name: z.string().default('Support'),
    address: email,
    ticketPrefix: z
      .string()
      .regex(/^[A-Z][A-Z0-9]{0,9}$/, 'expected 1-10 capital letters or digits, starting with a letter')
      .default('HD'),
    timezone: z.string().refine(validTimeZone, { message: 'expected an IANA time zone such as Europe/Madrid' }).default('UTC'),
    locale: z.enum(LOCALES).default('en'),
    /** Working days and hours, in `timezone`; used by time conditions of rules. */
    businessHours: z
      .strictObject({
        days: z.array(z.enum(WEEKDAYS)).min(1).default(['mon', 'tue', 'wed', 'thu', 'fri']),
        start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a time such as 09:00').default('09:00'),
        end: z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/, 'expected a time such as 18:00').default('18:00'),
      })
      .optional(),
    /** Days the desk is closed (in `timezone`); with businessHours, SLA clocks do not run on them. */
    holidays: z.array(z.iso.date({ message: 'expected a date such as 2026-12-25' })).default([]),
    /** Public holidays of a country (ISO code) or one of its regions, besides `holidays` (date-holidays). */
    holidayCalendar: z
      .strictObject({ country: z.string().regex(/^[A-Z]{2}$/, 'expected a country code such as ES or DE'), region: z.string().min(1).optional() })
      .refine((c) => knownRegion(c.country, c.region), { message: 'unknown country or region (date-holidays codes: ES, ES/MD, DE/BY…)' })
      .optional(),
  }),
  mailboxes: z
    .array(mailboxSchema)
    .default([])
    .refine((list) => new Set(list.map((m) => m.id)).size === list.length, { message: 'mailbox ids must be unique' }),
  outgoing: z
    .strictObject({
      smtp: z
        .strictObject({
          host: z.string().min(1),
          port: z.number().int().min(1).max(65535).default(587),
          secure: z.boolean().default(false),
          user: z.string().optional(),
          pass: z.string().optional(),
        })
        .optional(),
      /** The embedded default: each message is written as an .eml file here (default: <data>/outbox). */
      directory: z.string().optional(),
      /** Temporary failures (connection errors, 4xx) are retried with backoff for this long. */
      retryFor: duration.default(parseDuration('2d') as number),
    })
    .refine((o) => !(o.smtp && o.directory), { message: 'outgoing takes `smtp` or `directory`, not both' })
    .prefault({}),
  /** Scheduled jobs (node-cron expressions, in helpdesk.timezone); each can be switched off. */
  jobs: z
    .strictObject({
      slaCheck: z
        .strictObject({
          enabled: z.boolean().default(true),
          schedule: cron.default('*/5 * * * *'),
          /** Warn when this share of the time to the due date has passed. */
          warnAt: z.number().gt(0).lt(1).default(0.75),
        })
        .prefault({}),
      autoClose: z
        .strictObject({ enabled: z.boolean().default(true), schedule: cron.default('15 * * * *'), after: duration.default(parseDuration('7d') as number) })
        .prefault({}),
      digest: z.strictObject({ enabled: z.boolean().default(true), schedule: cron.default('0 8 * * 1-5') }).prefault({}),
      /**
       * Learning from what staff move into or out of each junk folder (IMAP, or a Maildir's
       * `.Junk` reached through an IMAP server). It needs the mailbox's connection, so it runs
       * inside each IMAP session (each Maildir source's scan) every
       * `mailboxes[].junkScanInterval` rather than on a cron schedule.
       */
      junkLearning: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
      backup: z
        .strictObject({
          enabled: z.boolean().default(true),
          schedule: cron.default('30 3 * * *'),
          /** Backups kept; older ones are deleted. */
          keep: z.number().int().min(1).default(7),
          /** Folder of the backups (default <data>/backups). */
          directory: z.string().optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  /** How replies on existing tickets are handled. */
  replies: z
    .strictObject({
      /** A reply to a ticket closed longer ago than this opens a new ticket linked to it. */
      newTicketAfterClosed: duration.default(parseDuration('14d') as number),
      /** CC'd participants receive agents' replies too. */
      copyParticipants: z.boolean().default(true),
      /**
       * The levels a customer rates a ticket with (`#rate 4 comment`, or `#rate` and a label):
       * value → label, or value → a label per language. Shown in the resolution notice.
       */
      ratings: z
        .record(z.string().regex(/^(10|[1-9])$/, 'expected a whole number from 1 to 10'), z.union([z.string().min(1), z.partialRecord(z.enum(LOCALES), z.string().min(1))]))
        .refine((levels) => Object.keys(levels).length >= 2, { message: 'expected at least two rating levels' })
        .default(DEFAULT_RATINGS),
    })
    .prefault({}),
  /** What the help desk sends on its own, and the limits that keep it from starting mail loops. */
  notifications: z
    .strictObject({
      /** Acknowledge new tickets to the customer. */
      acknowledge: z.boolean().default(true),
      /** No acknowledgement for a ticket the spam filter is unsure about. */
      withholdAckWhenUnsure: z.boolean().default(true),
      /**
       * Whether the acknowledgement quotes the message it acknowledges: `known` only to an
       * address an agent has answered before, `always`, `never`. Anyone can write any From:,
       * and a desk that quotes whatever it receives back to that address sends a stranger's
       * text, from the support address, to whomever they name.
       */
      ackQuotes: z.enum(['known', 'always', 'never']).default('known'),
      /**
       * Tell the customer (`status_changed`) when a ticket is resolved, or closed without
       * having been resolved, by a change that sends them nothing else: an agent's mail with
       * commands only, `helpdesk tickets set`.
       */
      statusChanged: z.boolean().default(true),
      /** Tell the ticket's author (`assignee_changed`) who handles it when the responsible agent changes. */
      assigneeChanged: z.boolean().default(true),
      /** At most `count` acknowledgements to one sender per `per`. */
      ackRateLimit: z.strictObject({ count: z.number().int().min(1).default(5), per: duration.default(parseDuration('1h') as number) }).prefault({}),
      /** More than `count` messages from one sender on one ticket per `per`: stop notifying. */
      ticketFlood: z.strictObject({ count: z.number().int().min(1).default(20), per: duration.default(parseDuration('1h') as number) }).prefault({}),
      /** A mail telling an agent about a customer's message carries the customer's files up to this size in total; the rest are listed. */
      attachToAgents: size.default(10 * 1024 * 1024),
      /** No automatic mail to an address that hard-bounced (5.1.x) for this long. */
      suppressAfterHardBounce: duration.default(parseDuration('30d') as number),
      /** Key of the HMAC in our Message-IDs; absent: one generated and kept in the database. */
      secret: z.string().min(16, 'expected at least 16 characters').optional(),
      /** Folder of handlebars templates (templates/<locale>/...); absent: the shipped ones. */
      templates: z.string().optional(),
      /** Notices to agents (assigned, unassigned, customer_replied) list up to three knowledge-base articles and three similar solved tickets. */
      suggestToAgents: z.boolean().default(true),
      /** The acknowledgement offers the customer up to three public articles in their language that match their question. */
      suggestArticles: z.boolean().default(false),
    })
    .prefault({}),
  health: z
    .strictObject({
      /** A mailbox failing (no successful check) for this long is reported as an incident. */
      alertAfter: duration.default(parseDuration('10m') as number),
    })
    .prefault({}),
  /** Where the desk is kept: absent, the SQLite file in --data (docs/CLUSTER.md). */
  store: z
    .strictObject({
      /** Several daemons on one PostgreSQL: `url` is a connection URL (use `${VAR}` for the password). */
      postgres: z.strictObject({ url: z.string().regex(/^postgres(ql)?:\/\//, 'expected a URL such as postgres://helpdesk@db.example.com/helpdesk') }).optional(),
    })
    .prefault({}),
  cluster: z
    .strictObject({
      /** A daemon that dies has its mailboxes taken over by another within this time (PostgreSQL only). */
      leaseTtl: duration.refine((ms) => ms >= 3000, 'expected at least 3s').default(parseDuration('30s') as number),
    })
    .prefault({}),
  limits: z
    .strictObject({
      maxMessageSize: size.default(25 * 1024 * 1024),
      /** A message whose parse takes longer is abandoned (its worker terminated) and quarantined. */
      processingTime: duration.default(parseDuration('30s') as number),
      maxAttachmentSize: size.default(20 * 1024 * 1024),
      /** At most this many people on one ticket; addresses beyond it are kept on the message only. */
      maxParticipants: z.number().int().min(1).default(20),
    })
    .prefault({}),
  /** How priority and severity are read from a message when no rule sets them. */
  triage: z
    .strictObject({
      /** Words in subject or body that make a ticket high priority. */
      urgentKeywords: z.array(z.string().min(1)).default(['urgent', 'asap', 'immediately', 'emergency', 'urgente', 'inmediato', 'cuanto antes', 'emergencia']),
      /** Words that make a ticket critical severity (service down). */
      criticalKeywords: z.array(z.string().min(1)).default(['outage', 'down', 'not working', 'production stopped', 'caído', 'caida', 'no funciona', 'sin servicio']),
      /** Senders (addresses, @domains) whose tickets are high priority. */
      vip: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  /** The Bayes spam filter's thresholds on its 0..1 score. */
  spam: z
    .strictObject({
      /**
       * Chosen with `bench:spam -- --validate` (never the test part): of the cutoffs that leave
       * no validation fold more than 1% of its ham unsure, 0.12 lets the fewest spam through
       * before more ham turns unsure (summed over the five folds and the larger split, 2,599
       * ham and 637 spam scored: spam→ham 147 at 0.2, 120 at 0.12, 110 at 0.1; ham unsure 1, 3,
       * 7). The score's scale moved since 0.2 was set with the first model (scores keep their
       * order in the tails, a message's evidence is scaled): new spam now lands lower.
       */
      hamCutoff: z.number().min(0).max(1).default(0.12),
      /** bogofilter's spam_cutoff: a lost customer mail is far worse than a spam let through. */
      spamCutoff: z.number().min(0).max(1).default(0.99),
      /** Messages of each kind to learn before verdicts are used (until then: ham, "untrained"). */
      minTrained: z.number().int().min(0).default(200),
    })
    .refine((s) => s.hamCutoff < s.spamCutoff, { message: 'hamCutoff must be below spamCutoff' })
    .prefault({}),
  /** Category prediction from past tickets when no rule sets the category. */
  prediction: z
    .strictObject({
      enabled: z.boolean().default(true),
      minConfidence: z.number().min(0).max(1).default(0.6),
      /** Tickets categorised by rules or staff needed before predictions are used. */
      minExamples: z.number().int().min(2).default(20),
    })
    .prefault({}),
  defaults: z
    .strictObject({
      priority: z.enum(PRIORITIES).default('medium'),
      severity: z.enum(SEVERITIES).default('medium'),
      category: z.string().default('general'),
      queue: z.string().nullable().default(null),
    })
    .prefault({}),
  sla: z
    .strictObject({
      /** Resolution targets: a ticket of this severity must be resolved within this time. */
      critical: duration.default(parseDuration('4h') as number),
      high: duration.default(parseDuration('12h') as number),
      medium: duration.default(parseDuration('48h') as number),
      low: duration.default(parseDuration('52h') as number),
      /** First-response targets per severity; a severity without one has no first-response clock. */
      firstResponse: z.partialRecord(z.enum(SEVERITIES), duration).default({}),
      /** The clocks stand still while a ticket is pending (waiting on the customer); due times move by the pause. */
      pauseWhilePending: z.boolean().default(true),
    })
    .prefault({}),
});

const agentSchema = z.strictObject({
  name: z.string().min(1),
  email,
  aliases: z.array(email).default([]),
  groups: z.array(z.string()).default([]),
  admin: z.boolean().default(false),
  /** At most this many open tickets (new, open, pending); none: no limit. */
  capacity: z.number().int().positive().optional(),
  /** Out of office: `true`, or a date range (inclusive, in the help desk's time zone). */
  away: z.union([z.boolean(), z.strictObject({ from: isoDate, until: isoDate })]).default(false),
});

export const agentsFileSchema = z.strictObject({
  $schema: z.string().optional(),
  trust: z
    .discriminatedUnion('mode', [
      z.strictObject({ mode: z.literal('from-header') }),
      z.strictObject({ mode: z.literal('authentication-results'), authservId: z.string().min(1) }),
      z.strictObject({ mode: z.literal('dkim') }),
    ])
    .default({ mode: 'from-header' }),
  agents: z.array(agentSchema).default([]),
  groups: z.array(z.strictObject({ name: z.string().min(1), members: z.array(email).default([]) })).default([]),
});

/** Text conditions: a string is a case-insensitive substring; or any/all of words; or a regex. */
const textMatch = z.union([
  z.string().min(1),
  z
    .strictObject({ any: z.array(z.string().min(1)).optional(), all: z.array(z.string().min(1)).optional(), regex: z.string().min(1).optional() })
    .refine((t) => t.any || t.all || t.regex, { message: 'expected one of any, all or regex' }),
]);
/** Address conditions: `ana@x.com`, `@x.com` or `x.com` (the domain), or a glob such as `*@*.x.com`. */
const oneOrMany = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

export interface RuleCondition {
  from?: string | string[];
  to?: string | string[];
  subject?: z.infer<typeof textMatch>;
  body?: z.infer<typeof textMatch>;
  header?: Record<string, z.infer<typeof textMatch>>;
  hasAttachment?: boolean;
  attachmentType?: string | string[];
  category?: string | string[];
  spam?: 'ham' | 'unsure' | 'spam';
  organisation?: string | string[];
  contract?: string | string[];
  contractValid?: boolean;
  time?: { weekdays?: (typeof WEEKDAYS)[number][]; businessHours?: boolean };
  all?: RuleCondition[];
  any?: RuleCondition[];
  not?: RuleCondition;
}

export const conditionSchema: z.ZodType<RuleCondition> = z.lazy(() =>
  z.strictObject({
    from: oneOrMany.optional(),
    to: oneOrMany.optional(),
    subject: textMatch.optional(),
    body: textMatch.optional(),
    header: z.record(z.string().min(1), textMatch).optional(),
    hasAttachment: z.boolean().optional(),
    attachmentType: oneOrMany.optional(),
    category: oneOrMany.optional(),
    spam: z.enum(['ham', 'unsure', 'spam']).optional(),
    /** The sender's organisation, its contract's name, whether that contract is valid now (config/customers.yaml). */
    organisation: oneOrMany.optional(),
    contract: oneOrMany.optional(),
    contractValid: z.boolean().optional(),
    time: z.strictObject({ weekdays: z.array(z.enum(WEEKDAYS)).optional(), businessHours: z.boolean().optional() }).optional(),
    all: z.array(conditionSchema).optional(),
    any: z.array(conditionSchema).optional(),
    not: conditionSchema.optional(),
  }),
);

export const STRATEGIES = ['round_robin', 'least_open', 'random'] as const;

const actionSchema = z.strictObject({
  category: z.string().min(1).optional(),
  priority: z.enum(PRIORITIES).optional(),
  severity: z.enum(SEVERITIES).optional(),
  queue: z.string().min(1).optional(),
  tags: z.array(z.string().min(1)).optional(),
  assign: z
    .union([z.strictObject({ agent: email }), z.strictObject({ group: z.string().min(1), strategy: z.enum(STRATEGIES).default('round_robin') })])
    .optional(),
  stop: z.boolean().optional(),
});

export const SLA_CLOCKS = ['first_response', 'resolution'] as const;
export const NOTIFY_TARGETS = ['assignee', 'queue', 'admins'] as const;
const clockOrAny = z.enum([...SLA_CLOCKS, 'any']);

/** What the SLA job does when a clock warns or breaches (README "Service levels"). */
const escalationSchema = z.strictObject({
  name: z.string().min(1),
  when: z
    .strictObject({
      breach: clockOrAny.optional(),
      warning: clockOrAny.optional(),
      severity: z.union([z.enum(SEVERITIES), z.array(z.enum(SEVERITIES)).min(1)]).optional(),
      queue: oneOrMany.optional(),
    })
    .refine((w) => (w.breach ? 1 : 0) + (w.warning ? 1 : 0) === 1, { message: 'an escalation needs exactly one of breach or warning' }),
  then: z.strictObject({
    priority: z.enum(PRIORITIES).optional(),
    severity: z.enum(SEVERITIES).optional(),
    queue: z.string().min(1).optional(),
    /** An agent takes it, or a group's queue (unassigned, as `#assign GROUP`). */
    assign: z.union([z.strictObject({ agent: email }), z.strictObject({ group: z.string().min(1) })]).optional(),
    /** Who is told, besides those the warning or breach goes to anyway. */
    notify: z.array(z.enum(NOTIFY_TARGETS)).default([]),
  }),
});

export const rulesFileSchema = z.strictObject({
  $schema: z.string().optional(),
  escalation: z
    .array(escalationSchema)
    .nullish()
    .transform((e) => e ?? []),
  rules: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        when: conditionSchema.default({}),
        then: actionSchema,
        /** Go on to later rules after this one matched (fields already set are kept). */
        continue: z.boolean().default(false),
      }),
    )
    .nullish()
    .transform((r) => r ?? []),
});

/** A service level a contract buys: SLA targets that replace the desk's, and a default priority. */
const levelSchema = z.strictObject({
  sla: z
    .strictObject({
      critical: duration.optional(),
      high: duration.optional(),
      medium: duration.optional(),
      low: duration.optional(),
      firstResponse: z.partialRecord(z.enum(SEVERITIES), duration).default({}),
    })
    .prefault({}),
  /** The priority of its tickets when no rule, header or keyword sets one. */
  priority: z.enum(PRIORITIES).optional(),
});

const contractSchema = z.strictObject({
  name: z.string().min(1),
  level: z.string().min(1),
  from: isoDate,
  /** Last day of validity (inclusive); none: open-ended. */
  until: isoDate.optional(),
  /** Support hours included (for `#time` accounting). */
  hours: z.number().positive().optional(),
  warranty: z.boolean().default(false),
});

export const customersFileSchema = z.strictObject({
  $schema: z.string().optional(),
  levels: z.record(z.string().min(1), levelSchema).default({}),
  organisations: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        /** Mail domains of its people (subdomains included). */
        domains: z.array(z.string().min(1).transform((d) => d.toLowerCase().replace(/^@/, ''))).default([]),
        /** Addresses outside those domains that belong to it. */
        addresses: z.array(email).default([]),
        contracts: z.array(contractSchema).default([]),
      }),
    )
    .default([]),
});

export type HelpdeskFile = z.infer<typeof helpdeskFileSchema>;
export type CustomersFile = z.infer<typeof customersFileSchema>;
export type AgentsFile = z.infer<typeof agentsFileSchema>;
export type RulesFile = z.infer<typeof rulesFileSchema>;
export type MailboxConfig = HelpdeskFile['mailboxes'][number];
export type ImapConfig = NonNullable<MailboxConfig['imap']>;
export type AgentConfig = AgentsFile['agents'][number];
export type TrustConfig = AgentsFile['trust'];

/** Everything the daemon reads from config/, validated and with defaults applied. */
export interface Config {
  dir: string;
  helpdesk: HelpdeskFile['helpdesk'];
  triage: HelpdeskFile['triage'];
  prediction: HelpdeskFile['prediction'];
  spam: HelpdeskFile['spam'];
  mailboxes: HelpdeskFile['mailboxes'];
  outgoing: HelpdeskFile['outgoing'];
  notifications: HelpdeskFile['notifications'];
  replies: HelpdeskFile['replies'];
  jobs: HelpdeskFile['jobs'];
  health: HelpdeskFile['health'];
  store: HelpdeskFile['store'];
  cluster: HelpdeskFile['cluster'];
  limits: HelpdeskFile['limits'];
  defaults: HelpdeskFile['defaults'];
  sla: HelpdeskFile['sla'];
  trust: TrustConfig;
  agents: AgentConfig[];
  groups: AgentsFile['groups'];
  rules: RulesFile['rules'];
  escalation: RulesFile['escalation'];
  levels: CustomersFile['levels'];
  organisations: CustomersFile['organisations'];
}
