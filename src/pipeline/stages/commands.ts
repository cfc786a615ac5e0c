import { LOCALES, type Config } from '../../config/schema';
import { parseDuration } from '../../lib/duration';
import { isMailAddress } from '../../lib/mail-address';
import type { AnswerData } from '../../knowledge/answers';
import { findAgent, findAgentNamed, isOwnAddress } from '../agents';
import { isAutomaticAddress } from '../automatic-senders';
import { planChange, type FieldChange } from '../changes';
import { describeLevels, parseRating } from '../ratings';
import { parseCommands, replyText } from '../reply-text';
import { onlyThanks } from '../thanks';
import type { Draft, MailAddress, ReplyCommand, Stage, StageContext, TicketHandle, TicketInfo, TicketUpdate } from '../types';

/** The commands agents may put at the top of a reply, for the error reply and the notifications. */
export const AGENT_COMMANDS = [
  '#status new|open|pending|resolved|closed',
  '#priority high|medium|low',
  '#severity critical|high|medium|low',
  '#assign <agent|group|me>',
  '#category <name>',
  '#note',
  '#spam',
  '#notspam',
  '#cc <address>',
  '#merge <ticket>',
  '#time <duration, e.g. 30m or 1h30m; at most 24h>',
  '#answer <name> (a canned answer; also on a line of its own in the text)',
  `#lang ${LOCALES.join('|')}`,
];

/**
 * What a reply on an existing ticket changes (issue #6). An agent's reply: the new text (no
 * quoted history, signature or command lines) goes to the customer unless it is a `#note`
 * or has no text; its commands are validated here, all of them, and applied together by
 * `apply` or, when one is unknown or invalid, none is and the agent gets one error reply.
 * A customer's reply reopens a resolved or pending ticket; `#close` and `#rate 1-5 comment`
 * from the customer or a participant close and rate it. Automatic mail changes nothing.
 */
export const commands: Stage = {
  name: 'commands',
  async run(draft, ctx) {
    const { mail, thread, actor, classification } = draft;
    if (!mail || !thread?.ticket || !actor || classification?.kind !== 'normal') return {};
    const info = await ctx.store.ticketInfo(thread.ticket.id);
    if (!info || (info.status === 'spam' && actor.role !== 'agent')) return {};
    // A customer's reply matters here only for its commands: without a `#` it has none, and
    // cutting the quoted history (the costly part) can be skipped.
    // A reply to a resolved ticket is cut too: whether it is only thanks depends on its own words.
    const text = actor.role === 'agent' || mail.text.includes('#') || info.status === 'resolved' ? replyText(mail.text) : mail.text;
    return { update: actor.role === 'agent' ? await agentUpdate(draft, ctx, info, text) : await customerUpdate(draft, ctx, info, text) };
  },
};

/** `#time` reports the time one reply took: more than this is a typo ("#time 150h" for 1h50m) that would swamp the reports. */
const MAX_TIME_SPENT_MS = 24 * 3_600_000;

/** An update that changes nothing yet: the stage fills it in. */
export function blankUpdate(ticket: TicketHandle, actor: string, text: string, commands: ReplyCommand[]): TicketUpdate {
  return { ticket, actor, text, commands, changes: [], note: false, relay: false, firstResponse: false, cc: [], merge: null, spamLabel: null, rating: null, thanked: false, locale: null, timeSpent: null, answers: [], errors: [], ignored: [], reason: '' };
}

async function agentUpdate(draft: Draft, ctx: StageContext, info: TicketInfo, fullText: string): Promise<TicketUpdate> {
  const agentAddress = draft.actor?.address ?? '';
  const { commands: cmds, rest: written } = parseCommands(fullText);
  const u = blankUpdate({ id: info.id, ref: info.ref }, `agent:${agentAddress}`, written, cmds);
  const at = draft.receivedAt;
  const answered = await withAnswers(cmds, written, ctx, info, agentAddress);
  u.errors.push(...answered.errors);
  u.answers = answered.names;
  const rest = answered.text;
  u.text = rest;
  const changes = new Map<string, FieldChange>();
  /** The ticket's people, read when a #cc needs them. */
  let participants: Set<string> | undefined;
  const change = (field: string, value: string) => {
    const view = { ...info, status: changes.get('status')?.to ?? info.status };
    const c = planChange(view, field, value, ctx.config, at);
    changes.set(c.field, c);
  };
  for (const c of cmds) {
    try {
      switch (c.name) {
        case 'status':
        case 'priority':
        case 'severity':
        case 'category':
          if (!c.arg) throw new Error(`#${c.name} needs a value`);
          change(c.name, c.name === 'category' ? c.arg : c.arg.toLowerCase());
          break;
        case 'assign':
          assign(c.arg, agentAddress, ctx.config, change);
          break;
        case 'note':
          u.note = true;
          break;
        case 'spam':
          change('status', 'spam');
          u.spamLabel = 'spam';
          break;
        case 'notspam':
          if (info.status === 'spam') change('status', 'open');
          u.spamLabel = 'ham';
          break;
        case 'cc': {
          // `#cc dan@x`, `#cc <dan@x>` or `#cc Dan <dan@x>`.
          const address = (/<([^<>]+)>/.exec(c.arg)?.[1] ?? c.arg).trim().toLowerCase();
          if (!isMailAddress(address)) throw new Error(`#cc needs an email address, got "${c.arg}"`);
          // As for the people in To/Cc (actor.ts): mail to our own address would come back as
          // a new message, and an automatic address reads nothing.
          if (isOwnAddress(ctx.config, address)) throw new Error(`#cc: ${address} is the desk's own address`);
          if (isAutomaticAddress(address)) throw new Error(`#cc: ${address} is an automatic address; nobody reads mail sent to it`);
          participants ??= new Set((await ctx.store.participants(info.id)).map((p) => p.email));
          if (participants.has(address) || u.cc.some((p) => p.address === address)) break;
          const max = ctx.config.limits.maxParticipants;
          if (participants.size + u.cc.length >= max) throw new Error(`#cc: ${info.ref} has ${max} people on it, limits.maxParticipants`);
          u.cc.push({ address, name: '' } satisfies MailAddress);
          break;
        }
        case 'merge': {
          const target = await ctx.store.ticketByRef(c.arg.replace(/^\[|\]$/g, '').toUpperCase());
          if (!target) throw new Error(`#merge: no ticket ${c.arg}`);
          // A ticket merged before is followed to where it lives now (merged-tickets.ts): one
          // merged into this very ticket would make both closed husks of each other.
          if (target.id === info.id) throw new Error(target.mergedFrom ? `#merge: ${target.mergedFrom} was merged into ${info.ref} already` : `#merge: ${info.ref} cannot be merged into itself`);
          u.merge = target;
          break;
        }
        case 'time': {
          const ms = parseDuration(c.arg.replace(/\s+/g, ''));
          if (!ms) throw new Error(`#time needs a duration such as 30m or 1h30m, got "${c.arg}"`);
          if (ms > MAX_TIME_SPENT_MS) throw new Error(`#time takes at most 24h for one reply, got "${c.arg}"`);
          u.timeSpent = ms;
          break;
        }
        case 'answer':
          break; // put into the text by withAnswers
        case 'lang': {
          const locale = c.arg.trim().toLowerCase();
          if (!(LOCALES as readonly string[]).includes(locale)) throw new Error(`#lang takes one of ${LOCALES.join(', ')}, got "${c.arg}"`);
          u.locale = locale;
          break;
        }
        default:
          throw new Error(`unknown command #${c.name}`);
      }
    } catch (err) {
      u.errors.push(`${c.line}: ${(err as Error).message}`);
    }
  }
  if (u.errors.length > 0) {
    return { ...u, reason: `commands rejected, nothing applied: ${u.errors.join('; ')}` };
  }
  u.relay = !u.note && rest.length > 0;
  u.firstResponse = u.relay && info.firstResponseAt === null;
  // An answer moves a new ticket to open, unless the agent set the status.
  if (u.relay && info.status === 'new' && !changes.has('status')) change('status', 'open');
  u.changes = [...changes.values()].filter((c) => c.from !== c.to);
  u.reason = [u.note ? 'internal note' : u.relay ? 'reply relayed to the customer' : 'command-only reply: nothing sent to the customer', ...cmds.map((c) => c.line)].join('; ');
  return u;
}

/** `#assign me`, `#assign ana` / `#assign ana@x`, `#assign <group>` (the queue, unassigned). */
function assign(arg: string, self: string, config: Config, change: (field: string, value: string) => void): void {
  const who = arg.trim().toLowerCase();
  if (!who) throw new Error('#assign needs an agent, a group or "me"');
  if (who === 'me') return change('assignee', self);
  if (findAgentNamed(config, who)) return change('assignee', who);
  const group = config.groups.find((g) => g.name.toLowerCase() === who);
  if (group) {
    change('queue', group.name);
    change('assignee', 'none');
    return;
  }
  throw new Error(`no agent or group "${arg}"`);
}

async function customerUpdate(draft: Draft, ctx: StageContext, info: TicketInfo, fullText: string): Promise<TicketUpdate | undefined> {
  const sender = draft.actor?.address ?? null;
  if (!sender) return undefined;
  const { commands: cmds, rest } = parseCommands(fullText);
  const u = blankUpdate({ id: info.id, ref: info.ref }, sender, rest, cmds);
  const at = draft.receivedAt;
  // Only the ticket's own people may close or rate it, and only when the address is not
  // doubted (a spoof our MTA caught: trust.ts senderDoubt) and the reply answers mail they
  // received: the subject's tag alone, with their address, anyone can write.
  const person = !draft.senderDoubt && (sender === info.customer || (await ctx.store.isParticipant(info.id, sender)));
  const own = person && !draft.thread?.byTagAlone;
  const reasons: string[] = [];
  if (person && !own) {
    for (const c of cmds) if (c.name === 'close' || c.name === 'rate') u.ignored.push(`"${c.line}" ignored: the reply was found by its subject tag alone, which anyone can write with ${sender}, not by a Message-ID of the ticket's mail`);
  }
  for (const c of own ? cmds : []) {
    if (c.name === 'close' && info.status !== 'closed') {
      u.changes = [planChange(info, 'status', 'closed', ctx.config, at)];
      reasons.push('#close from the customer');
    } else if (c.name === 'rate') {
      const rating = parseRating(ctx.config, c.arg);
      if (rating) {
        u.rating = { score: rating.score, comment: (rating.comment || rest).trim() || null };
        reasons.push(`rated ${rating.score}`);
      } else u.ignored.push(`"${c.line}" names no rating level (${describeLevels(ctx.config)}): not recorded`);
    }
  }
  // A customer's `#close` or `#rate` on a resolved ticket does not reopen it, nor does a reply
  // that only thanks (pipeline/thanks.ts); any other reply does.
  // (Also one ignored above: a `#close` found by its tag alone must not reopen the ticket either.)
  const customerCommand = person && cmds.some((c) => c.name === 'close' || c.name === 'rate');
  if (!customerCommand && info.status === 'resolved' && onlyThanks(rest)) {
    u.thanked = true;
    reasons.push('only thanks: the ticket stays resolved');
  } else if (!customerCommand && (info.status === 'resolved' || info.status === 'pending')) {
    u.changes = [planChange(info, 'status', 'open', ctx.config, at)];
    reasons.push(`the customer replied to a ${info.status} ticket: reopened`);
  }
  if (u.changes.length === 0 && !u.rating && !u.thanked && u.ignored.length === 0) return undefined;
  u.reason = [...reasons, ...u.ignored].join('; ');
  return u;
}

/**
 * The reply with its canned answers put in: a `#answer <name>` among the commands at the top
 * puts the answer before the agent's text, in the order given; a line `#answer <name>` of its
 * own inside the text is replaced where it stands, so the agent's words can go around it.
 * An unknown name is an error that lists the answers there are.
 */
async function withAnswers(cmds: ReplyCommand[], written: string, ctx: StageContext, info: TicketInfo, agentAddress: string): Promise<{ text: string; names: string[]; errors: string[] }> {
  const inText = [...written.matchAll(/^[ \t]*#answer\b[ \t]*(.*?)[ \t]*$/gim)];
  const atTop = cmds.filter((c) => c.name === 'answer');
  if (inText.length === 0 && atTop.length === 0) return { text: written, names: [], errors: [] };
  const book = ctx.answers();
  const customer = info.customer ? ((await ctx.store.participants(info.id)).find((p) => p.email === info.customer) ?? null) : null;
  // A `#lang` in the same reply already holds for the answers in it.
  const langNow = cmds.find((c) => c.name === 'lang' && (LOCALES as readonly string[]).includes(c.arg.trim().toLowerCase()))?.arg.trim().toLowerCase();
  const locale = langNow ?? (info.customer ? await ctx.store.contactLocale(info.customer) : null) ?? ctx.config.helpdesk.locale;
  const agent = findAgent(ctx.config, agentAddress);
  const data: AnswerData = {
    ticket: { ref: info.ref, subject: info.subject, status: info.status, priority: info.priority, severity: info.severity, category: info.category, queue: info.queue },
    customer: { name: customer?.name ?? null, address: info.customer },
    agent: { name: agent?.name ?? null, address: agentAddress },
    helpdesk: { name: ctx.config.helpdesk.name, address: ctx.config.helpdesk.address },
  };
  const names: string[] = [];
  const errors: string[] = [];
  const render = (line: string, name: string): string => {
    const text = name ? book.render(name, locale, data) : null;
    if (text === null) {
      const known = book.names();
      errors.push(`${line}: ${name ? `no answer "${name}"` : '#answer needs a name'} (answers: ${known.join(', ') || `none yet: add templates/<locale>/answers/<name>.hbs to ${book.dir}`})`);
      return line;
    }
    names.push(name.toLowerCase());
    return text;
  };
  const top = atTop.map((c) => render(c.line, c.arg));
  const body = written.replace(/^[ \t]*#answer\b[ \t]*(.*?)[ \t]*$/gim, (line: string, name: string) => render(line.trim(), name));
  return { text: [...top, body].filter((t) => t.trim() !== '').join('\n\n'), names, errors };
}
