import path from 'node:path';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type { Config } from '../config/schema';
import { writeAtomically } from '../lib/fsync';
import { inDataDir } from '../locations';

/** Where composed mail goes: an SMTP server, or (the embedded default) a folder of .eml files. */
export interface Transport {
  /** `name` is stable per outbox row: writing it again replaces the file, never duplicates it. */
  send(message: Mail.Options, name: string): Promise<{ response: string }>;
  describe: string;
  close(): void;
}

export function makeTransport(outgoing: Config['outgoing'], dataDir: string): Transport {
  if (outgoing.smtp) {
    const s = outgoing.smtp;
    const transporter = nodemailer.createTransport({
      host: s.host,
      port: s.port,
      secure: s.secure,
      auth: s.user ? { user: s.user, pass: s.pass ?? '' } : undefined,
      connectionTimeout: 30_000,
      greetingTimeout: 30_000,
      socketTimeout: 60_000,
    });
    return {
      describe: `smtp://${s.host}:${s.port}`,
      async send(message) {
        const info = await transporter.sendMail(message);
        return { response: String(info.response ?? '') };
      },
      close: () => transporter.close(),
    };
  }
  const dir = inDataDir(dataDir, outgoing.directory ?? 'outbox');
  const transporter = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    describe: `directory ${dir}`,
    async send(message, name) {
      const info = await transporter.sendMail(message);
      const file = path.join(dir, `${name}.eml`);
      // Recorded as sent once this returns: the file must survive a power cut by then.
      writeAtomically(file, info.message as Buffer);
      return { response: `written to ${file}` };
    },
    close: () => transporter.close(),
  };
}

/**
 * How a send failed: retry later, or never (`permanent`: the server refused this message, a 5xx
 * to its recipient or its content). `serverWide`: the failure is not this message's, so every
 * other row would meet it too: no server answered (refused, timed out, a TLS or DNS failure, a
 * folder that cannot be written), or the server refused the desk itself (its greeting, its
 * login, our sender address: a relay whose password was changed answers 535 to AUTH). Such a
 * failure is temporary whatever its code: a wrong password must not fail every queued mail.
 */
export function sendFailure(err: unknown): { permanent: boolean; serverWide: boolean; message: string } {
  const e = err as { responseCode?: number; response?: string; code?: string; command?: string; message?: string };
  const code = typeof e?.responseCode === 'number' ? e.responseCode : null;
  const message = e?.response ? String(e.response) : `${e?.code ? `${e.code}: ` : ''}${e?.message ?? String(err)}`;
  const aboutThisMessage = code !== null && MESSAGE_COMMANDS.has(e?.command ?? '');
  return { permanent: aboutThisMessage && (code as number) >= 500, serverWide: !aboutThisMessage, message };
}

/** The SMTP commands whose answer is about one message (nodemailer's `command`): its recipient and its content. */
const MESSAGE_COMMANDS = new Set(['RCPT TO', 'DATA']);
