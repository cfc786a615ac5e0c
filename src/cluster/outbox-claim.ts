import type { Pool } from 'pg';

/** An outbox row as a sender needs it (the PostgreSQL store's columns, src/store/pg/schema.ts). */
export interface ClaimedOutboxRow {
  id: number;
  ticketId: number | null;
  template: string;
  recipients: string[];
  messageId: string;
  data: Record<string, unknown>;
  attempts: number;
  subject: string;
  inReplyTo: string | null;
  references: string[];
  locale: string;
  createdAt: number;
}

/** What became of a claimed row: sent, to be retried at `retryAt`, or failed for good (`retryAt` null). */
export type Settlement = { sent: true; at: number; subject: string } | { sent: false; error: string; retryAt: number | null };

/**
 * Several daemons send from one outbox (issue #25), each mail once: a sender claims the
 * oldest due row with `FOR UPDATE SKIP LOCKED` (as graphile-worker claims jobs), so the
 * others pass over it, sends it while it holds the row lock, and records what happened in
 * the same transaction. A sender that dies mid-send loses its connection, PostgreSQL drops
 * the lock and rolls the claim back, and another sender sends the row again with the same
 * Message-ID: at least once, recognisably the same, as with one daemon. No claim column is
 * needed, and none is left behind by a crash.
 *
 * Resolves to false when no row is due (or every due row is being sent by someone else).
 * A `send` that throws rolls the claim back and the error goes to the caller.
 */
export async function sendOneClaimed(pool: Pool, now: number, send: (row: ClaimedOutboxRow) => Promise<Settlement>): Promise<boolean> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const r = await client.query<{
      id: number;
      ticket_id: number | null;
      template: string;
      recipients: string[];
      message_id: string;
      data: Record<string, unknown>;
      attempts: number;
      subject: string;
      in_reply_to: string | null;
      references_ids: string[];
      locale: string;
      created_at: string;
    }>(
      `SELECT id, ticket_id, template, recipients, message_id, data, attempts, subject, in_reply_to, references_ids, locale, created_at
       FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1
       ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
      [now],
    );
    const row = r.rows[0];
    if (!row) {
      await client.query('COMMIT');
      return false;
    }
    let settled: Settlement;
    try {
      settled = await send({
        id: row.id,
        ticketId: row.ticket_id,
        template: row.template,
        recipients: row.recipients,
        messageId: row.message_id,
        data: row.data,
        attempts: row.attempts,
        subject: row.subject,
        inReplyTo: row.in_reply_to,
        references: row.references_ids,
        locale: row.locale,
        createdAt: Number(row.created_at),
      });
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    }
    if (settled.sent) await client.query("UPDATE outbox SET status = 'sent', sent_at = $2, subject = $3, attempts = attempts + 1, last_error = NULL WHERE id = $1", [row.id, settled.at, settled.subject]);
    else if (settled.retryAt !== null) await client.query('UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $1', [row.id, settled.error, settled.retryAt]);
    else await client.query("UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $2, next_attempt_at = NULL WHERE id = $1", [row.id, settled.error]);
    await client.query('COMMIT');
    return true;
  } catch (err) {
    broken = true;
    throw err;
  } finally {
    // A connection that failed mid-transaction is not given back to the pool as if it were clean.
    client.release(broken);
  }
}
