import EmailReplyParser from 'email-reply-parser';
import type { ReplyCommand } from './types';

const OUTLOOK_HISTORY = new RegExp(
  [
    /^(?:>\s*)*(?:_{20,}|-{3,}\s*(?:Original Message|Mensaje original|Message d'origine|Ursprüngliche Nachricht|Messaggio originale)\s*-{3,})\s*$/.source,
    /^\*?(?:From|De|Von|Da):\*?[^\n]+\n\*?(?:Sent|Enviado|Envoyé|Gesendet|Inviato|Date|Fecha):\*? /.source,
  ].join('|'),
  'im',
);

/**
 * What a person actually wrote in a reply: quoted history ("On … wrote:", "El … escribió:",
 * Outlook's header blocks, `>` lines) and the signature removed, by email-reply-parser (the
 * maintained port of GitHub's EmailReplyParser), then trimmed.
 */
export function replyText(text: string): string {
  const normalised = text.replace(/\r\n?/g, '\n');
  // Outlook puts the history under a line of underscores, an "-----Original Message-----"
  // (quoted with `>` when it is bottom-quoted), or a bare From:/Sent: header block.
  const outlook = normalised.split(OUTLOOK_HISTORY)[0];
  return new EmailReplyParser().parseReply(outlook).trim();
}

/**
 * The command lines at the top of a reply (`#status resolved`, any case, any spacing), and
 * the text after them. Only the top counts: a `#word` further down, or in quoted history,
 * is text.
 */
export function parseCommands(text: string): { commands: ReplyCommand[]; rest: string } {
  const lines = text.split('\n');
  const commands: ReplyCommand[] = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const m = /^#([A-Za-z][\w-]*)(?:\s+(.*))?$/.exec(line);
    if (!m) break;
    commands.push({ name: m[1].toLowerCase(), arg: (m[2] ?? '').trim(), line });
  }
  return { commands, rest: lines.slice(i).join('\n').trim() };
}
