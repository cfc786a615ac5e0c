import { createHash } from 'node:crypto';
import { sleep } from '../lib/backoff';
import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import { acquireLease, releaseLease, renewLeases, type Lease, type Queryable } from './leases';
import { heartbeat, leave, liveMembers, type Member } from './members';

export interface LeaseKeeperOptions {
  db: Queryable;
  member: Member;
  /** The configured mailboxes (read at every tick: a config reload may change them). */
  mailboxes: () => readonly string[];
  /** `cluster.leaseTtl`: a dead daemon's mailboxes are taken over within this time. */
  ttlMs: number;
  /** Start reading a mailbox this daemon now holds. */
  start(mailbox: string, lease: Lease): void | Promise<void>;
  /**
   * Stop reading a mailbox; resolves when nothing more is written under its lease. `lost`:
   * the lease is gone (the fence refuses any further commit anyway); `handover`: given to a
   * less busy daemon, released after this resolves; `shutdown`: the daemon stops.
   */
  stop(mailbox: string, why: 'lost' | 'handover' | 'shutdown'): void | Promise<void>;
  log: Logger;
}

export interface LeaseKeeper {
  /** One round: heartbeat, renew, hand over or take mailboxes. Runs by itself once started. */
  tick(): Promise<void>;
  start(): void;
  /** Stops every mailbox, releases the leases (others take them at once), leaves the cluster. */
  stop(): Promise<void>;
  held(): Lease[];
}

/**
 * Timing, from `ttlMs` (the bound on takeover after a daemon dies): a lease runs for 2/3 of
 * it and is renewed every 1/6, so one daemon survives three failed renewals in a row, and a
 * dead daemon's lease runs out at most 2/3 TTL after its death and is taken at the next
 * round of another daemon, at most 1/6 TTL later: within 5/6 of the TTL.
 */
const leaseMsOf = (ttlMs: number) => Math.round((ttlMs * 2) / 3);
const tickMsOf = (ttlMs: number) => Math.round(ttlMs / 6);

/**
 * Keeps this daemon's share of the mailboxes: each daemon alive holds at most
 * ceil(mailboxes / daemons alive); one above it hands its newest mailboxes over, one below it
 * takes free or expired ones, starting at a place in the list of its own (a hash of its
 * name) so that daemons starting together do not all race for the first mailbox.
 */
export function leaseKeeper(o: LeaseKeeperOptions): LeaseKeeper {
  const held = new Map<string, Lease>();
  const leaseMs = leaseMsOf(o.ttlMs);
  const log = o.log.child({ holder: o.member.holder });
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;

  /**
   * Mailboxes whose source is stopping (it finishes the batch in hand): not taken again until
   * it has; their leases (none when lost) are still renewed, so that batch can commit, and
   * released once the source has stopped.
   */
  const stopping = new Map<string, Lease | null>();
  /** Sources being stopped; the rounds go on meanwhile. */
  const stops = new Set<Promise<void>>();

  /**
   * Stops reading a mailbox without holding up the rounds: a source may take seconds to finish
   * its batch, and the renewals of every other lease must not wait for it (they did: a daemon
   * handing several mailboxes over let its other leases run out, and the takeovers cascaded).
   */
  const giveUp = (mailbox: string, why: 'lost' | 'handover' | 'shutdown') => {
    const lease = held.get(mailbox);
    held.delete(mailbox);
    stopping.set(mailbox, lease && why !== 'lost' ? lease : null);
    const stop = (async () => {
      try {
        await o.stop(mailbox, why);
      } finally {
        const last = stopping.get(mailbox);
        stopping.delete(mailbox);
        if (last) await releaseLease(o.db, last);
      }
    })()
      .catch((err: unknown) => log.error({ mailbox, error: errorMessage(err) }, 'stopping a mailbox failed; its lease runs out by itself'))
      .finally(() => stops.delete(stop));
    stops.add(stop);
  };

  /** Renews the leases of the mailboxes whose sources are finishing their batch. */
  async function renewStopping(): Promise<void> {
    const renewed = await renewLeases(o.db, [...stopping.values()].filter((l): l is Lease => l !== null), leaseMs);
    for (const [mailbox, lease] of renewed) if (stopping.has(mailbox)) stopping.set(mailbox, lease);
  }

  async function round(): Promise<void> {
    await heartbeat(o.db, o.member);
    const renewed = await renewLeases(o.db, [...held.values()], leaseMs);
    for (const [mailbox, lease] of [...held]) {
      const now = renewed.get(mailbox);
      if (now) held.set(mailbox, now);
      else {
        log.warn({ mailbox, generation: lease.generation }, 'mailbox lease lost: another daemon holds it now');
        giveUp(mailbox, 'lost');
      }
    }
    await renewStopping();
    const names = o.mailboxes();
    for (const mailbox of [...held.keys()]) if (!names.includes(mailbox)) giveUp(mailbox, 'handover');
    const fair = Math.ceil(names.length / (await liveMembers(o.db, leaseMs)));
    while (held.size > fair) {
      const newest = [...held.keys()].pop() as string;
      log.info({ mailbox: newest, fair }, 'handing a mailbox over to a less busy daemon');
      giveUp(newest, 'handover');
    }
    if (held.size >= fair || names.length === 0) return;
    const first = createHash('sha256').update(o.member.holder).digest().readUInt32BE(0) % names.length;
    for (let i = 0; i < names.length && held.size < fair; i++) {
      const mailbox = names[(first + i) % names.length];
      if (held.has(mailbox) || stopping.has(mailbox)) continue;
      const lease = await acquireLease(o.db, mailbox, o.member.holder, leaseMs);
      if (!lease) continue;
      held.set(mailbox, lease);
      log.info({ mailbox, generation: lease.generation }, 'mailbox lease taken');
      await o.start(mailbox, lease);
    }
  }

  const tick = async () => {
    while (running) await running.catch(() => undefined);
    if (stopped) return;
    running = round().finally(() => {
      running = null;
    });
    await running;
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      tick()
        .catch((err: unknown) => log.error({ error: errorMessage(err) }, 'mailbox lease round failed; trying again'))
        .finally(schedule);
    }, tickMsOf(o.ttlMs));
  };

  return {
    tick,
    start() {
      void tick()
        .catch((err: unknown) => log.error({ error: errorMessage(err) }, 'mailbox lease round failed; trying again'))
        .finally(schedule);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      while (running) await running.catch(() => undefined);
      for (const mailbox of [...held.keys()]) giveUp(mailbox, 'shutdown');
      // The sources finish their batches under leases still renewed (no rounds run any more).
      while (stops.size > 0) {
        await Promise.race([Promise.all([...stops]), sleep(tickMsOf(o.ttlMs))]);
        await renewStopping().catch((err: unknown) => log.error({ error: errorMessage(err) }, 'renewing the leases of stopping mailboxes failed'));
      }
      await leave(o.db, o.member);
    },
    held: () => [...held.values()],
  };
}
