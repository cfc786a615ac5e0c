import { Client } from 'pg';
import type { Config } from '../../src/config/schema';
import { answersFor } from '../../src/knowledge/answers';
import { createIntake, type Delivery, type Intake, type PassHooks } from '../../src/intake/intake';
import { pgIntakeStore } from '../../src/intake/pg-intake-store';
import { silentLogger } from '../../src/lib/log';
import type { IngestResult, RawMessage } from '../../src/pipeline/types';
import { openPgPool, pgTimeouts, type PgTimeouts } from '../../src/store/pg/pool';

/** A migrated PostgreSQL database, a pool on it and an intake writing into it, as the daemon would have. */
export async function pgIntakeDesk(url: string, config: () => Config, options: { now?: () => number; secret?: string; batchMessages?: number; batchMs?: number; timeouts?: PgTimeouts } = {}) {
  // Migrated as the daemon's pool does it.
  const pool = await openPgPool(url, silentLogger(), 4, options.timeouts ?? pgTimeouts(config().limits.processingTime));
  const admin = new Client({ connectionString: url });
  await admin.connect();
  if (options.secret) await admin.query("update key_value set value = $1 where key = 'message_id_secret'", [options.secret]);
  const intake = createIntake({ store: pgIntakeStore(pool, silentLogger()), config, log: silentLogger(), now: options.now, parseAhead: false, answers: () => answersFor(config()), batchMessages: options.batchMessages, batchMs: options.batchMs });
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
