import type { ClientBase, Pool } from 'pg';

/**
 * Mailbox leases (issue #25): with several daemons on one PostgreSQL, each mailbox is read by
 * one daemon at a time. A lease is a row of `mailbox_leases`; its holder renews it well
 * within the TTL; when the holder dies, the lease expires and another daemon takes it, with a
 * higher `generation`. Every time is the database's clock, never a daemon's: daemons on
 * machines whose clocks disagree still agree on who holds what.
 *
 * The lease alone cannot stop a daemon that was paused (a long GC, a frozen VM) from writing
 * after its lease ran out: `holdsLease` is the fence, checked inside the transaction that
 * commits a batch, and it locks the lease row so no takeover lands between the check and
 * the commit.
 */
export interface Lease {
  mailbox: string;
  holder: string;
  generation: number;
  /** Database time (ms since the epoch) at which the lease runs out unless renewed. */
  expiresAt: number;
}

export interface LeaseRow extends Lease {
  acquiredAt: number;
  renewedAt: number;
  /** Database time when this row was read. */
  now: number;
}

/** Anything that runs a query: a pool, or a client inside a transaction. */
export type Queryable = Pick<Pool, 'query'> | ClientBase;

/** The database's clock in milliseconds; clock_timestamp(), not now(): a long transaction does not freeze it. */
export const DB_NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

interface Row {
  mailbox: string;
  holder: string;
  generation: string;
  acquired_at: string;
  renewed_at: string;
  expires_at: string;
  now?: string;
}

const lease = (r: Row): Lease => ({ mailbox: r.mailbox, holder: r.holder, generation: Number(r.generation), expiresAt: Number(r.expires_at) });

/**
 * Takes the mailbox's lease when nobody holds it, or its holder let it expire; null when
 * another daemon holds it. Taking it over raises the generation.
 */
export async function acquireLease(db: Queryable, mailbox: string, holder: string, ttlMs: number): Promise<Lease | null> {
  const r = await db.query<Row>(
    `INSERT INTO mailbox_leases AS l (mailbox, holder, generation, acquired_at, renewed_at, expires_at)
     VALUES ($1, $2, 1, ${DB_NOW_MS}, ${DB_NOW_MS}, ${DB_NOW_MS} + $3)
     ON CONFLICT (mailbox) DO UPDATE
       SET holder = excluded.holder, generation = l.generation + 1, acquired_at = excluded.acquired_at,
           renewed_at = excluded.renewed_at, expires_at = excluded.expires_at
       WHERE l.expires_at <= excluded.acquired_at
     RETURNING *`,
    [mailbox, holder, ttlMs],
  );
  return r.rows[0] ? lease(r.rows[0]) : null;
}

/**
 * Extends a lease this daemon holds; null when it is no longer ours (it expired and was
 * taken, or expired at all: an expired lease is never silently revived, the daemon must
 * acquire it again, which raises the generation).
 */
export async function renewLease(db: Queryable, held: Lease, ttlMs: number): Promise<Lease | null> {
  return (await renewLeases(db, [held], ttlMs)).get(held.mailbox) ?? null;
}

/**
 * renewLease for all of a daemon's leases in one statement: a round trip per lease made a
 * round over thirty mailboxes of a busy daemon outlast the leases themselves (bench:cluster).
 * Returns the renewed ones by mailbox; a lease missing from the answer is no longer ours.
 */
export async function renewLeases(db: Queryable, held: Lease[], ttlMs: number): Promise<Map<string, Lease>> {
  if (held.length === 0) return new Map();
  const r = await db.query<Row>(
    `UPDATE mailbox_leases AS l SET renewed_at = ${DB_NOW_MS}, expires_at = ${DB_NOW_MS} + $4
     FROM unnest($1::text[], $2::text[], $3::bigint[]) AS h(mailbox, holder, generation)
     WHERE l.mailbox = h.mailbox AND l.holder = h.holder AND l.generation = h.generation AND l.expires_at > ${DB_NOW_MS}
     RETURNING l.*`,
    [held.map((h) => h.mailbox), held.map((h) => h.holder), held.map((h) => h.generation), ttlMs],
  );
  return new Map(r.rows.map((row) => [row.mailbox, lease(row)]));
}

/** Gives a lease up at once (on shutdown, or to hand a mailbox to a less busy daemon). */
export async function releaseLease(db: Queryable, held: Lease): Promise<void> {
  await db.query(`UPDATE mailbox_leases SET expires_at = ${DB_NOW_MS} WHERE mailbox = $1 AND holder = $2 AND generation = $3`, [held.mailbox, held.holder, held.generation]);
}

/**
 * The fence: true when `held` is still this daemon's, unexpired lease. Call it inside the
 * transaction that commits work done under the lease (a batch, a checkpoint): it locks the
 * row (FOR SHARE), so a takeover waits until that transaction ends, and the takeover's
 * generation then tells the late holder its next renewal failed.
 */
export async function holdsLease(tx: ClientBase, held: Lease): Promise<boolean> {
  const r = await tx.query(
    `SELECT 1 FROM mailbox_leases WHERE mailbox = $1 AND holder = $2 AND generation = $3 AND expires_at > ${DB_NOW_MS} FOR SHARE`,
    [held.mailbox, held.holder, held.generation],
  );
  return r.rowCount === 1;
}

/** Every lease, expired or not, with the database's time of reading (for `helpdesk status`). */
export async function listLeases(db: Queryable): Promise<LeaseRow[]> {
  const r = await db.query<Row>(`SELECT *, ${DB_NOW_MS} AS now FROM mailbox_leases ORDER BY mailbox`);
  return r.rows.map((row) => ({ ...lease(row), acquiredAt: Number(row.acquired_at), renewedAt: Number(row.renewed_at), now: Number(row.now) }));
}
