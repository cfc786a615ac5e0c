import type { JunkStore } from '../../spam/junk-folder';
import * as r from './reads';
import type { PgDb } from './reads';
import { pgLearntAs, pgSpamLearn } from './spam';
import { pgWrites } from './writes';

/** Junk-folder learning's reads and writes on PostgreSQL, in the caller's transaction (`db`). */
export function pgJunkStore(db: PgDb): JunkStore {
  return {
    ticketOfRaw: (sha) => r.ticketOfRaw(db, sha),
    readByDesk: async (sha) => (await r.processedRaw(db, sha)) !== null,
    seenBeforeAt: (sha, source, position) => r.seenBeforeAt(db, sha, source, position),
    learn: (key, label, tokens, at) => pgSpamLearn(db, key, label, tokens, at),
    applyChange: (ticketId, change, actor, at, reason) => pgWrites(db).applyChange(ticketId, change, actor, at, reason),
    addEvent: (e) => pgWrites(db).addEvent(e),
    learntAs: (key) => pgLearntAs(db, key),
  };
}
