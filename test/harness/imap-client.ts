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
    // imapflow answers `false` when STATUS gets a NO but LIST shows the folder: seen when the
    // daemon creates the folder (Processed, Junk) at the moment the test asks. Ask again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const st = await client.status(folder, { messages: true });
      if (st) return st.messages ?? 0;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`STATUS ${folder} failed five times`);
  } catch (err) {
    const e = err as { serverResponseCode?: string; responseText?: string };
    if (e.serverResponseCode === 'NONEXISTENT' || /doesn't exist/i.test(`${e.responseText ?? ''} ${(err as Error).message}`)) return 0;
    throw err;
  }
}

/** Moves messages between folders as a staff member's mail client does, holding the folder's lock. */
export async function staffMove(client: ImapFlow, from: string, which: Parameters<ImapFlow['messageMove']>[0], to: string): Promise<void> {
  const lock = await client.getMailboxLock(from);
  try {
    await client.messageMove(which, to);
  } finally {
    lock.release();
  }
}
