import type { Config } from '../config/schema';
import * as pg from '../store/pg/reads';
import type { PgDb } from '../store/pg/reads';
import { followMerges } from './merged-tickets';
import { bouncedOutbox, roundRobinKey, secretOf } from './store-reader';
import type { StoreReader } from './types';

/**
 * The same reader on the PostgreSQL store (docs/CLUSTER.md), on `db`: the connection of the
 * batch the message joins (intake/pg-intake-store.ts). pipeline-reader.test.ts holds it to
 * SQLite's answers.
 */
export function pgStoreReader(db: PgDb, config: Config): StoreReader {
  return {
    processedRaw: (sha256) => pg.processedRaw(db, sha256),
    inboundMessage: (messageId, from) => pg.inboundMessage(db, messageId, from),
    ticketsByMessageIds: (ids) => pg.ticketsByMessageIds(db, ids),
    ticketByRef: async (ref) => followMerges(await pg.ticketByRef(db, ref), (id) => pg.ticketMergeLink(db, id)),
    isParticipant: (ticketId, address) => pg.isParticipant(db, ticketId, address),
    openTicketCounts: (assignees) => pg.openTicketCounts(db, assignees),
    roundRobinLast: (group) => pg.getValue(db, roundRobinKey(group)),
    spamCounts: (tokens) => pg.spamCounts(db, tokens),
    spamTotals: () => pg.spamTotals(db),
    messageIdSecret: async () => {
      const stored = await pg.getValue(db, 'message_id_secret');
      return secretOf(config, () => stored);
    },
    outboxByMessageIds: async (ids) => bouncedOutbox(await pg.outboxByMessageIds(db, ids)),
    ticketInfo: (id) => pg.ticketInfo(db, id),
    sentSince: (template, address, since) => pg.sentToSince(db, template, address, since),
    ticketAcknowledged: (ticketId) => pg.ticketAcknowledged(db, ticketId),
    messagesFromSince: (ticketId, address, since) => pg.messagesFromSince(db, ticketId, address, since),
    hasEventSince: (ticketId, type, since) => pg.hasEventSince(db, ticketId, type, since),
    suppressedUntil: (address, now) => pg.suppressedUntil(db, address, now),
    contactLocale: (address) => pg.contactLocale(db, address),
    participants: (ticketId) => pg.ticketParticipants(db, ticketId),
    customerThread: async (ticketId) => pg.customerThread(db, ticketId, (await pg.ticketInfo(db, ticketId))?.customer ?? null),
    lastCustomerMessage: (ticketId) => pg.lastCustomerMessage(db, ticketId),
    recentNotes: (ticketId, limit) => pg.recentNotes(db, ticketId, limit),
  };
}
