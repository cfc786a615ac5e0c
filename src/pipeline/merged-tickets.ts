import type { TicketHandle } from './types';

/** A ticket and the one it was merged into, if it was. */
export interface MergeLink {
  id: number;
  ref: string;
  mergedInto: number | null;
}

/** Merges are followed at most this far; a chain longer than this is not made by #merge in practice. */
const MAX_HOPS = 50;

/**
 * The ticket a ref lives in now: a ticket merged into another (`#merge`) is followed to the
 * one that took its messages, and on from there if that was merged too, so a tag or a marker
 * naming a merged ticket lands where the conversation went on, not in the closed husk.
 * `mergedFrom` is the ref asked for when it was followed. A cycle (written before #merge
 * refused one) stops at the first ticket seen again, and so does a chain past MAX_HOPS.
 */
export async function followMerges(start: MergeLink | null, byId: (id: number) => Promise<MergeLink | null>): Promise<(TicketHandle & { mergedFrom?: string }) | null> {
  if (!start) return null;
  const seen = new Set([start.id]);
  let at = start;
  for (let hop = 0; at.mergedInto !== null && hop < MAX_HOPS; hop++) {
    if (seen.has(at.mergedInto)) break;
    const next = await byId(at.mergedInto);
    if (!next) break;
    seen.add(next.id);
    at = next;
  }
  return at.id === start.id ? { id: at.id, ref: at.ref } : { id: at.id, ref: at.ref, mergedFrom: start.ref };
}
