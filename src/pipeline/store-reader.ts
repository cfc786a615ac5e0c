import type { Config } from '../config/schema';
import type { BouncedOutbox, StoreReader } from './types';
import { processedRaw } from '../store/inbound';
import { customerThread, inboundMessage, lastCustomerMessage, messagesFromSince, recentNotes, ticketsByMessageIds } from '../store/messages';
import { getValue } from '../store/key-value';
import { outboxByMessageIds, sentToSince, ticketAcknowledged, suppressedUntil } from '../store/outbox';
import { spamCounts, spamStore } from '../store/spam';
import type { Db, Store } from '../store/open';
import { categoryExamples, categoryExamplesSignature, contactLocale, hasEventSince, isParticipant, openTicketCounts, ticketByRef, ticketInfo, ticketMergeLink, ticketParticipants } from '../store/tickets';
import { followMerges } from './merged-tickets';
import { categoryModelCache } from './category-model';

/** The read-only view of the store that pipeline stages receive (one per open store). */
const readers = new WeakMap<Store, Omit<StoreReader, 'messageIdSecret'>>();

export function storeReader(store: Store, config: Config): StoreReader {
  let reader = readers.get(store);
  if (!reader) {
    reader = makeReader(store);
    readers.set(store, reader);
  }
  // The secret may change with a config reload; everything else reads the store.
  return { ...reader, messageIdSecret: async () => messageIdSecret(config, store.db) };
}

/** The key of the HMAC in our Message-IDs: config's, else the one migration 0006 generated. */
export function messageIdSecret(config: Config, db: Db): string {
  return secretOf(config, () => getValue(db, 'message_id_secret'));
}

/** config's Message-ID secret, else the stored one; a store without one was not migrated. */
export function secretOf(config: Config, stored: () => string | null): string {
  const secret = config.notifications.secret ?? stored();
  if (!secret) throw new Error('no Message-ID secret: the store was not migrated');
  return secret;
}

function makeReader(store: Store): Omit<StoreReader, 'messageIdSecret'> {
  const db = store.db;
  const spam = spamStore(store);
  return {
    processedRaw: async (sha256) => processedRaw(db, sha256),
    inboundMessage: async (messageId, from) => inboundMessage(db, messageId, from),
    ticketsByMessageIds: async (ids) => ticketsByMessageIds(db, ids),
    ticketByRef: async (ref) => followMerges(ticketByRef(db, ref), async (id) => ticketMergeLink(db, id)),
    isParticipant: async (ticketId, address) => isParticipant(db, ticketId, address),
    openTicketCounts: async (assignees) => openTicketCounts(db, assignees),
    roundRobinLast: async (group) => getValue(db, roundRobinKey(group)),
    spamCounts: async (tokens) => spamCounts(store, tokens),
    spamTotals: async () => spam.totals(),
    outboxByMessageIds: async (ids) => bouncedOutbox(outboxByMessageIds(db, ids)),
    ticketInfo: async (id) => ticketInfo(db, id),
    sentSince: async (template, address, since) => sentToSince(db, template, address, since),
    ticketAcknowledged: async (ticketId) => ticketAcknowledged(db, ticketId),
    messagesFromSince: async (ticketId, address, since) => messagesFromSince(db, ticketId, address, since),
    hasEventSince: async (ticketId, type, since) => hasEventSince(db, ticketId, type, since),
    suppressedUntil: async (address, now) => suppressedUntil(db, address, now),
    contactLocale: async (address) => contactLocale(db, address),
    participants: async (ticketId) => ticketParticipants(db, ticketId),
    customerThread: async (ticketId) => customerThread(db, ticketId, ticketInfo(db, ticketId)?.customer ?? null),
    lastCustomerMessage: async (ticketId) => lastCustomerMessage(db, ticketId),
    recentNotes: async (ticketId, limit) => recentNotes(db, ticketId, limit),
  };
}

export const roundRobinKey = (group: string) => `round_robin:${group}`;

/** The category predictor, trained from this store and retrained when its examples change. */
export function categoryModelFor(store: Store) {
  return categoryModelCache({ signature: () => categoryExamplesSignature(store.db), examples: () => categoryExamples(store.db) });
}

/** The outbox row a bounce names, as the bounce stage reads it, from either store's row. */
export function bouncedOutbox(row: { id: number; recipients: string[]; ticketId: number | null; ref: string | null; template: string; data: Record<string, unknown>; bounceStatus: string | null } | null): BouncedOutbox | null {
  return row ? { id: row.id, recipient: row.recipients[0] ?? '', ticket: row.ticketId !== null && row.ref ? { id: row.ticketId, ref: row.ref } : null, template: row.template, data: row.data, bounceStatus: row.bounceStatus } : null;
}
