import type { Command } from 'commander';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import { createIntake, type Delivery } from '../intake/intake';
import { sqliteIntakeStore, type IntakeStore } from '../intake/intake-store';
import { messagesFromPaths } from '../mail-in/files';
import type { IngestResult, RawMessage } from '../pipeline/types';
import type { Config } from '../config/schema';
import type { Locations } from '../locations';
import { configAt, locations, openAll } from './common';
import { fileProgress, type FileProgress } from './progress';
import { CliExit, EXIT } from './exit-codes';

export function registerIngest(program: Command, log: Logger): void {
  program
    .command('ingest')
    .description('ingest messages from files, directories, mbox files or stdin (-); exit 75 on a temporary failure')
    .argument('[inputs...]', 'files, directories, mbox files, or - for stdin', ['-'])
    .option('--json', 'one JSON object per message')
    .action(async (inputs: string[], opts: { json?: boolean }, cmd: Command) => {
      const missing = inputs.filter((p) => p !== '-' && !existsSync(p));
      if (missing.length > 0) throw new CliExit(EXIT.USAGE, `no such file or directory: ${missing.join(', ')}`);
      // An MTA pipe must never lose mail: a config or store problem is a temporary failure.
      const where = locations(cmd);
      const config = configAt(where, EXIT.TEMPFAIL);
      const store = await intakeStoreFor(where, config, log);
      const intake = createIntake({ store: store.intake, config: () => config, log });
      const progress = fileProgress('ingest', inputs);
      // Where standard input over limits.maxMessageSize is written as it streams by, until the
      // intake has copied it into the store; made only then (mail that fits needs no TMPDIR).
      const spool: { dir?: string } = {};
      const spoolDir = () => (spool.dir ??= mkdtempSync(path.join(os.tmpdir(), 'helpdesk-ingest-')));
      try {
        // The intake calls a line's ack, and it is printed, only once its message is durable.
        const pass = await intake.run(deliveries(messagesFromPaths(inputs, config.limits.maxMessageSize, spoolDir), progress, opts.json === true));
        if (pass.failure) throw new CliExit(EXIT.TEMPFAIL, `stopped after ${pass.acknowledged} message(s): ${errorMessage(pass.failure)}`);
      } finally {
        progress.stop();
        await intake.close();
        await store.close();
        if (spool.dir) rmSync(spool.dir, { recursive: true, force: true });
      }
    });
}

/** Where the messages go: the SQLite store in --data, or the desk's PostgreSQL (its client loaded only then). */
async function intakeStoreFor(where: Locations, config: Config, log: Logger): Promise<{ intake: IntakeStore; close(): Promise<void> | void }> {
  if (!config.store.postgres) {
    const { store } = openAll(where, EXIT.TEMPFAIL);
    return { intake: sqliteIntakeStore(store), close: () => store.close() };
  }
  const [{ openPgPool, pgTimeouts }, { pgIntakeStore }] = await Promise.all([import('../store/pg/pool'), import('../intake/pg-intake-store')]);
  // The batch's connection, its new contacts' (written outside it) and the category predictor's reads.
  const pool = await openPgPool(config.store.postgres.url, log, 3, pgTimeouts(config.limits.processingTime)).catch((err: unknown) => {
    throw new CliExit(EXIT.TEMPFAIL, errorMessage(err));
  });
  return { intake: pgIntakeStore(pool, log), close: () => pool.end() };
}

async function* deliveries(raws: AsyncIterable<RawMessage>, progress: FileProgress, json: boolean): AsyncGenerator<Delivery> {
  for await (const raw of raws) {
    const source = raw.position ? `${raw.source}${raw.position}` : raw.source;
    yield {
      raw,
      ack: (result) => {
        progress.message(raw.source);
        progress.print(json ? JSON.stringify({ ...result, source }) : describe(source, result));
      },
    };
  }
}

function describe(source: string, result: IngestResult): string {
  return `${source}: ${result.outcome}${result.ticket ? ` ${result.ticket}` : ''}${result.threadedBy ? ` (${result.threadedBy})` : ''}${result.outcome === 'quarantined' || result.outcome === 'duplicate' || result.outcome === 'ignored' ? ` — ${result.reason}` : ''}`;
}
