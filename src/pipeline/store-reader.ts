import type { StoreReader } from './types';
import { processedRaw } from '../store/inbound';
import { inboundMessage, ticketsByMessageIds } from '../store/messages';
import { getValue } from '../store/key-value';
import { spamCounts, spamStore } from '../store/spam';
import type { Store } from '../store/open';
import { categoryExamples, categoryExamplesSignature, isParticipant, openTicketCounts, ticketByRef } from '../store/tickets';
import { categoryModelCache } from './category-model';

/** The read-only view of the store that pipeline stages receive (one per open store). */
const readers = new WeakMap<Store, StoreReader>();

export function storeReader(store: Store): StoreReader {
  let reader = readers.get(store);
  if (!reader) {
    reader = makeReader(store);
    readers.set(store, reader);
  }
  return reader;
}

function makeReader(store: Store): StoreReader {
  const db = store.db;
  const spam = spamStore(store);
  return {
    processedRaw: (sha256) => processedRaw(db, sha256),
    inboundMessage: (messageId, from) => inboundMessage(db, messageId, from),
    ticketsByMessageIds: (ids) => ticketsByMessageIds(db, ids),
    ticketByRef: (ref) => {
      const t = ticketByRef(db, ref);
      return t ? { id: t.id, ref: t.ref } : null;
    },
    isParticipant: (ticketId, address) => isParticipant(db, ticketId, address),
    openTicketCounts: (assignees) => openTicketCounts(db, assignees),
    roundRobinLast: (group) => getValue(db, roundRobinKey(group)),
    spamCounts: (tokens) => spamCounts(store, tokens),
    spamTotals: () => spam.totals(),
  };
}

export const roundRobinKey = (group: string) => `round_robin:${group}`;

/** The category predictor, trained from this store and retrained when its examples change. */
export function categoryModelFor(store: Store) {
  return categoryModelCache({ signature: () => categoryExamplesSignature(store.db), examples: () => categoryExamples(store.db) });
}
