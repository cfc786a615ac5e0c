import { tagRegex } from './stages/thread';

/**
 * The subject of everything we send about a ticket: `[HD-123] <original subject>`, with the
 * reply and forward prefixes of every common client and language (Re, AW, RV, SV, Antw, Fwd,
 * WG, TR, RE[2], 回复...) and earlier ticket tags taken off, however often they piled up.
 */
const PREFIX = /^\s*(?:(?:re|aw|rv|sv|vs|antw|antwort|ref|réf|fwd?|wg|tr|enc|doorst|odp|res|r|回复|回覆|答复|转发|返信|転送)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)/i;

export function baseSubject(subject: string, prefix: string): string {
  const tag = new RegExp(`^\\s*${tagRegex(prefix).source}\\s*`, 'i');
  let s = subject.replace(/\s+/g, ' ').trim();
  for (;;) {
    const next = s.replace(PREFIX, '').replace(tag, '');
    if (next === s) break;
    s = next;
  }
  return s.trim() || '(no subject)';
}

export function ticketSubject(ref: string, subject: string, prefix: string): string {
  return `[${ref}] ${baseSubject(subject, prefix)}`;
}
