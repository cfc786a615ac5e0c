import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { DB_NOW_MS, type Queryable } from './leases';

/** This daemon in the cluster: a name unique to this process, so a restart is a new member. */
export interface Member {
  holder: string;
  host: string;
  pid: number;
}

export function thisMember(): Member {
  const host = os.hostname();
  return { holder: `${host}:${process.pid}:${randomBytes(3).toString('hex')}`, host, pid: process.pid };
}

/** Says this daemon is alive (database time). */
export async function heartbeat(db: Queryable, m: Member): Promise<void> {
  await db.query(
    `INSERT INTO cluster_members (holder, host, pid, started_at, seen_at) VALUES ($1, $2, $3, ${DB_NOW_MS}, ${DB_NOW_MS})
     ON CONFLICT (holder) DO UPDATE SET seen_at = excluded.seen_at`,
    [m.holder, m.host, m.pid],
  );
}

/** How many daemons were seen within `withinMs` (at least 1: the caller counts itself). */
export async function liveMembers(db: Queryable, withinMs: number): Promise<number> {
  const r = await db.query<{ n: string }>(`SELECT count(*) AS n FROM cluster_members WHERE seen_at > ${DB_NOW_MS} - $1`, [withinMs]);
  return Math.max(1, Number(r.rows[0].n));
}

/** On shutdown, and for members gone longer than a day (their rows would only grow the table). */
export async function leave(db: Queryable, m: Member): Promise<void> {
  await db.query(`DELETE FROM cluster_members WHERE holder = $1 OR seen_at < ${DB_NOW_MS} - 86400000`, [m.holder]);
}
