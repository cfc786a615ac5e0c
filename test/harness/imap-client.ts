import { ImapFlow } from 'imapflow';
import type { Dovecot } from './dovecot';
import { DYN_PASSWORD } from './dovecot';

/** A test-side IMAP client for seeding and inspecting a mailbox (imapflow, no IDLE). */
export async function testClient(dv: Dovecot, user: string, pass = DYN_PASSWORD): Promise<ImapFlow> {
  const client = new ImapFlow({ host: dv.host, port: dv.imapPort, secure: false, auth: { user, pass }, logger: false, disableAutoIdle: true, tls: { rejectUnauthorized: false } });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Number of messages in a folder (0 when it does not exist). */
export async function count(client: ImapFlow, folder: string): Promise<number> {
  try {
    const st = await client.status(folder, { messages: true });
    if (!st) throw new Error(`STATUS ${folder} failed`);
    return st.messages ?? 0;
  } catch (err) {
    const e = err as { serverResponseCode?: string; responseText?: string };
    if (e.serverResponseCode === 'NONEXISTENT' || /doesn't exist/i.test(`${e.responseText ?? ''} ${(err as Error).message}`)) return 0;
    throw err;
  }
}
