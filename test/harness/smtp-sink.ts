import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

export interface SinkMessage {
  from: string;
  to: string[];
  raw: Buffer;
  parsed: ParsedMail;
}

export interface SmtpSink {
  port: number;
  messages: SinkMessage[];
  /** Answer for a recipient: undefined accepts; a string rejects with that 5xx text. */
  rejectRecipient?: (address: string) => string | undefined;
  /** When set, the server takes mail only after AUTH with this password (any user name), as a relay with an account does. */
  password?: string;
  /** Called when a message was received, before the server answers 250 (crash tests). */
  beforeAccept?: (message: SinkMessage) => Promise<void> | void;
  close(): Promise<void>;
}

/**
 * A real SMTP server (smtp-server) as the sink for outgoing mail. No TLS; AUTH only when
 * `password` is set: the help desk connects as to any relay. `port` 0 picks a free one; a given port lets a test start the
 * sink "again" where the help desk already points.
 */
export async function startSmtpSink(port = 0): Promise<SmtpSink> {
  const sink: SmtpSink = {
    port: 0,
    messages: [],
    close: async () => undefined,
  };
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (sink.password !== undefined && auth.password === sink.password) return callback(null, { user: auth.username });
      callback(new Error('Invalid username or password'));
    },
    onMailFrom(_address, session, callback) {
      if (sink.password !== undefined && !session.user) return callback(Object.assign(new Error('Authentication required'), { responseCode: 530 }));
      callback();
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      const rejection = sink.rejectRecipient?.(address.address);
      if (rejection) {
        const err = new Error(rejection) as Error & { responseCode: number };
        err.responseCode = 550;
        return callback(err);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        // keepCidLinks: see the html as sent (cid: references), not with images inlined as data: URLs.
        void simpleParser(raw, { keepCidLinks: true }).then(async (parsed) => {
          const message: SinkMessage = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            parsed,
          };
          sink.messages.push(message);
          await sink.beforeAccept?.(message);
          callback();
        }, callback);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  sink.port = (server.server.address() as AddressInfo).port;
  sink.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return sink;
}

/** A header of a message at the sink, as a string. */
/** The mails the sink received for `address`, oldest first. */
export function mailTo(sink: SmtpSink, address: string): SinkMessage[] {
  return sink.messages.filter((m) => m.to.includes(address));
}

/** The newest mail the sink received for `address`; throws when there is none. */
export function lastMailTo(sink: SmtpSink, address: string): SinkMessage {
  const all = mailTo(sink, address);
  if (all.length === 0) throw new Error(`no mail to ${address}`);
  return all[all.length - 1];
}

export function header(message: SinkMessage, name: string): string | undefined {
  const v = message.parsed.headers.get(name.toLowerCase());
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.join(' ');
  if (typeof v === 'object' && 'text' in v) return String((v as { text: string }).text);
  return JSON.stringify(v);
}
