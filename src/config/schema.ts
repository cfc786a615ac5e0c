import { z } from 'zod';
import { parseDuration } from '../lib/duration';

/**
 * The config files' shape (DESIGN.md "Config"). More keys may come; the ones here mean what
 * DESIGN.md says. Defaults are filled in so that the rest of the code never checks for absence.
 */

const duration = z
  .string()
  .refine((s) => parseDuration(s) !== null, { message: 'expected a duration such as 30m, 4h or 2d' })
  .transform((s) => parseDuration(s) as number);

const size = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB)$/i, 'expected a size such as 512KB, 25MB or a number of bytes')
    .transform((s) => {
      const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)$/i.exec(s) as RegExpExecArray;
      const mult: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };
      return Math.round(Number(m[1]) * mult[m[2].toUpperCase()]);
    }),
]);

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export const PRIORITIES = ['high', 'medium', 'low'] as const;
export const STATUSES = ['new', 'open', 'pending', 'resolved', 'closed', 'spam'] as const;
export type Severity = (typeof SEVERITIES)[number];
export type Priority = (typeof PRIORITIES)[number];
export type TicketStatus = (typeof STATUSES)[number];

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
  })
  .refine((m) => (m.imap ? 1 : 0) + (m.maildir ? 1 : 0) === 1, {
    message: 'a mailbox needs exactly one of `imap` or `maildir`',
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
    timezone: z.string().default('UTC'),
    locale: z.enum(['en', 'es']).default('en'),
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
      directory: z.string().optional(),
    })
    .prefault({ directory: 'outbox' }),
  health: z
    .strictObject({
      /** A mailbox failing (no successful check) for this long is reported as an incident. */
      alertAfter: duration.default(parseDuration('10m') as number),
    })
    .prefault({}),
  limits: z
    .strictObject({
      maxMessageSize: size.default(25 * 1024 * 1024),
      maxAttachmentSize: size.default(20 * 1024 * 1024),
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
      critical: duration.default(parseDuration('4h') as number),
      high: duration.default(parseDuration('12h') as number),
      medium: duration.default(parseDuration('48h') as number),
      low: duration.default(parseDuration('52h') as number),
    })
    .prefault({}),
});

const agentSchema = z.strictObject({
  name: z.string().min(1),
  email,
  aliases: z.array(email).default([]),
  groups: z.array(z.string()).default([]),
  admin: z.boolean().default(false),
});

export const agentsFileSchema = z.strictObject({
  $schema: z.string().optional(),
  trust: z
    .discriminatedUnion('mode', [
      z.strictObject({ mode: z.literal('from-header') }),
      z.strictObject({ mode: z.literal('authentication-results'), authservId: z.string().min(1) }),
    ])
    .default({ mode: 'from-header' }),
  agents: z.array(agentSchema).default([]),
  groups: z.array(z.strictObject({ name: z.string().min(1), members: z.array(email).default([]) })).default([]),
});

export const rulesFileSchema = z.strictObject({
  $schema: z.string().optional(),
  rules: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        when: z.record(z.string(), z.unknown()).default({}),
        then: z.record(z.string(), z.unknown()).default({}),
        continue: z.boolean().default(false),
      }),
    )
    .default([]),
});

export type HelpdeskFile = z.infer<typeof helpdeskFileSchema>;
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
  mailboxes: HelpdeskFile['mailboxes'];
  outgoing: HelpdeskFile['outgoing'];
  health: HelpdeskFile['health'];
  limits: HelpdeskFile['limits'];
  defaults: HelpdeskFile['defaults'];
  sla: HelpdeskFile['sla'];
  trust: TrustConfig;
  agents: AgentConfig[];
  groups: AgentsFile['groups'];
  rules: RulesFile['rules'];
}
