import { BOUNCE_SENDER } from '../automatic-senders';
import type { InboundMail, Stage } from '../types';

export type MailKind = 'normal' | 'auto-reply' | 'bounce' | 'report' | 'loop';

export interface Classification {
  kind: MailKind;
  /** Bulk or list mail (Precedence, List-Id, List-Unsubscribe): never auto-acknowledged. */
  bulk: boolean;
  reason: string;
}

/**
 * What kind of mail this is, from headers and MIME structure only (README "How a message is processed"): a bounce
 * (a failed delivery report), another report (delivery success, abuse feedback, read receipt),
 * an auto-reply (out of office, autoresponders, RFC 3834 Auto-Submitted), our own mail coming
 * back (loop), or a normal message. The mail-loop and acknowledgement rules build on this.
 */
export const classify: Stage = {
  name: 'classify',
  run(draft, ctx) {
    if (!draft.mail) return {};
    return { classification: classifyMail(draft.mail, ctx.config.helpdesk.address) };
  },
};

const BOUNCE_NAME = /mail delivery (sub)?system|mail administrator|postmaster|mailer.daemon/i;
const BOUNCE_SUBJECT =
  /(undeliver(able|ed)|delivery (status notification \((failure|delay)\)|fail(ure|ed))|mail delivery failed|failure notice|returned mail|returned to sender|could not be delivered|non remis|unzustellbar|nicht zustellbar|no se puede entregar|non recapitabile|delivery problem|message not delivered|mail system error|permanent error|rejected)/i;
const OOF_SUBJECT =
  /^(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response|antwort)|abwesenheit|abwesend|respuesta autom[aá]tica|fuera de la oficina|r[ée]ponse automatique|absent|vacation|on holiday|risposta automatica|ausente)/i;

export function classifyMail(mail: InboundMail, supportAddress: string): Classification {
  const h = (name: string) => mail.headers.find((x) => x.name === name)?.value ?? null;
  const from = mail.from?.address ?? '';
  const subject = mail.subject.trim().replace(/^((re|aw|fwd?|wg)\s*:\s*)+/i, '');
  const precedence = (h('precedence') ?? '').toLowerCase();
  const bulk = ['bulk', 'list', 'junk'].includes(precedence) || h('list-id') !== null || h('list-unsubscribe') !== null;
  const result = (kind: MailKind, reason: string): Classification => ({ kind, bulk, reason });

  if ((h('x-helpdesk-loop') ?? '').trim().toLowerCase() === supportAddress) return result('loop', 'X-Helpdesk-Loop: the help desk sent this itself');
  if (from && from === supportAddress) return result('loop', `From is the support address ${supportAddress}`);

  const contentType = (h('content-type') ?? '').toLowerCase();
  const reportType = /report-type\s*=\s*"?([\w-]+)/.exec(contentType)?.[1] ?? null;
  if (contentType.startsWith('multipart/report') && reportType && reportType !== 'delivery-status') {
    return result('report', `multipart/report; report-type=${reportType}`);
  }
  // The delivery-status part: an attachment, or (when the parser folded it into the text, as
  // for some MTAs' reports) the text of a multipart/report of type delivery-status.
  const dsnPart = mail.attachments.find((a) => a.contentType === 'message/delivery-status');
  const dsn = dsnPart ? dsnPart.content.toString('latin1') : contentType.startsWith('multipart/report') && reportType === 'delivery-status' ? mail.text : null;
  if (dsn !== null) {
    const actions = [...dsn.matchAll(/^\s*action\s*:\s*([\w-]+)/gim)].map((m) => m[1].toLowerCase());
    if (actions.length > 0 && actions.every((a) => a === 'delivered' || a === 'relayed' || a === 'expanded')) {
      return result('report', `delivery status notification: ${[...new Set(actions)].join(', ')}`);
    }
    return result('bounce', `delivery status notification${actions.length ? `: ${[...new Set(actions)].join(', ')}` : ''}`);
  }
  // Amazon SES notifications arrive as JSON in a plain mail from SNS.
  // The notification may be JSON inside a JSON string ("Message" : "{\"notificationType\":…").
  const sesType = from.endsWith('@sns.amazonaws.com') ? /\\?"notificationType\\?"\s*:\s*\\?"(\w+)/.exec(mail.text)?.[1] : undefined;
  if (sesType) return result(sesType === 'Bounce' ? 'bounce' : 'report', `Amazon SES ${sesType} notification`);
  if (h('x-failed-recipients') !== null) return result('bounce', `X-Failed-Recipients: ${h('x-failed-recipients')}`);
  const bounceSender = BOUNCE_SENDER.test(from) || BOUNCE_NAME.test(mail.from?.name ?? '');
  if (bounceSender && (BOUNCE_SUBJECT.test(subject) || contentType.startsWith('multipart/report') || mail.attachments.some((a) => a.contentType === 'message/rfc822' || a.contentType === 'text/rfc822-headers'))) {
    return result('bounce', `sent by ${from || mail.from?.name} about a failed delivery`);
  }
  const nullSender = (h('return-path') ?? '').trim() === '<>';
  if (BOUNCE_SUBJECT.test(subject) && (bounceSender || nullSender)) return result('bounce', `bounce subject "${mail.subject}" with an empty Return-Path`);
  // Sent with the null sender that delivery reports use (RFC 5321 4.5.5) and returning the
  // original message: a bounce whatever its subject says (KDDI's "Mail").
  if (nullSender && mail.attachments.some((a) => a.contentType === 'message/rfc822' || a.contentType === 'text/rfc822-headers')) return result('bounce', 'empty Return-Path, the original message returned');
  // fml, the mailing-list manager, answers from LIST-admin / LIST-ctl when it refuses a post.
  if (h('x-mlserver') !== null && /-(admin|ctl)@/i.test(from)) return result('bounce', `the list manager ${from} refused the message: "${mail.subject}"`);
  if (bounceSender) return result('bounce', `sent by the mail system (${from || mail.from?.name})`);

  const autoSubmitted = (h('auto-submitted') ?? '').toLowerCase();
  if (autoSubmitted && autoSubmitted !== 'no') return result('auto-reply', `Auto-Submitted: ${autoSubmitted}`);
  for (const name of ['x-autoreply', 'x-autorespond', 'x-autoresponder', 'x-auto-response']) {
    if (h(name) !== null) return result('auto-reply', `${name} header`);
  }
  if (precedence === 'auto_reply') return result('auto-reply', 'Precedence: auto_reply');
  if (h('x-ms-exchange-inbox-rules-loop') !== null && h('x-auto-response-suppress') !== null) return result('auto-reply', 'Exchange out-of-office headers');
  if (OOF_SUBJECT.test(subject)) return result('auto-reply', `out-of-office subject "${mail.subject}"`);
  return result('normal', bulk ? 'bulk or list mail' : 'no sign of automatic mail');
}
