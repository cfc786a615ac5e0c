import { Client } from 'pg';
import type { Config } from '../../src/config/schema';
import { answersFor } from '../../src/knowledge/answers';
import { createIntake, type Delivery, type Intake, type PassHooks } from '../../src/intake/intake';
import { pgIntakeStore } from '../../src/intake/pg-intake-store';
import { silentLogger } from '../../src/lib/log';
import type { IngestResult, RawMessage } from '../../src/pipeline/types';
import type { Store } from '../../src/store/open';
import { pgRowLines, sqliteRowLines } from '../../src/store/pg/copy';
import { openPgPool, pgTimeouts, type PgTimeouts } from '../../src/store/pg/pool';
import { deskTables } from '../../src/store/pg/tables';

/** A migrated PostgreSQL database, a pool on it and an intake writing into it, as the daemon would have. */
export async function pgIntakeDesk(url: string, config: () => Config, options: { now?: () => number; secret?: string; batchMessages?: number; batchMs?: number; timeouts?: PgTimeouts; categoryCheckEveryMs?: number } = {}) {
  // Migrated as the daemon's pool does it.
  const pool = await openPgPool(url, silentLogger(), 4, options.timeouts ?? pgTimeouts(config().limits.processingTime));
  const admin = new Client({ connectionString: url });
  await admin.connect();
  if (options.secret) await admin.query("update key_value set value = $1 where key = 'message_id_secret'", [options.secret]);
  const intake = createIntake({ store: pgIntakeStore(pool, silentLogger(), { categoryCheckEveryMs: options.categoryCheckEveryMs }), config, log: silentLogger(), now: options.now, parseAhead: false, answers: () => answersFor(config()), batchMessages: options.batchMessages, batchMs: options.batchMs });
  return {
    admin,
    pool,
    intake,
    async close() {
      await intake.close();
      await pool.end();
      await admin.end();
    },
  };
}

/** One pass of `intake` over `raws`: the results of the acknowledged ones, in order, and the pass's failure. */
export async function passOver(intake: Intake, raws: Iterable<RawMessage> | AsyncIterable<RawMessage>, hooks: PassHooks = {}): Promise<{ acked: Array<{ raw: RawMessage; result: IngestResult }>; failure: Error | null }> {
  const acked: Array<{ raw: RawMessage; result: IngestResult }> = [];
  async function* deliveries(): AsyncGenerator<Delivery> {
    for await (const raw of raws) yield { raw, ack: (result) => void acked.push({ raw, result }) };
  }
  const { failure } = await intake.run(deliveries(), hooks);
  return { acked, failure };
}

/** The result of one raw message ingested alone (its own batch); throws when the pass failed. */
export async function ingestAlone(intake: Intake, raw: RawMessage): Promise<IngestResult> {
  const { acked, failure } = await passOver(intake, [raw]);
  if (failure) throw failure;
  if (acked.length !== 1) throw new Error('the message was not acknowledged');
  return acked[0].result;
}

/** `HD-3.<nonce>.<hmac>` in our Message-IDs and body markers: random per enqueue, so masked when stores are compared. */
const OUR_TOKEN = /(HD-\d+)\.[0-9a-f]{12}\.[0-9a-f]+/g;

/**
 * Every desk table's rows in SQLite and in PostgreSQL, as `{table, rows}` pairs to compare:
 * our Message-IDs' nonces masked, then sorted (a table keyed by our Message-IDs is ordered by
 * their nonces).
 */
export async function rowsOfBoth(store: Store, client: Client): Promise<Array<{ table: string; sqlite: string[]; postgres: string[] }>> {
  const mask = (lines: Iterable<string>) => [...lines].map((l) => l.replace(OUR_TOKEN, '$1.<nonce>')).sort();
  const out: Array<{ table: string; sqlite: string[]; postgres: string[] }> = [];
  for (const table of deskTables()) out.push({ table: table.name, sqlite: mask(sqliteRowLines(store, table)), postgres: mask(await pgRowLines(client, table)) });
  return out;
}
