import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { ackBatch, type AckBatch } from '../lib/ack-batch';
import { StoreUnavailableError, errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import { messagesFromPaths } from '../mail-in/files';
import { parseAhead, parsingAhead } from '../pipeline/parse-ahead';
import { ingest } from '../pipeline/run';
import { categoryModelFor } from '../pipeline/store-reader';
import type { IngestResult } from '../pipeline/types';
import { locations, openAll, out } from './common';
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
      const { config, store } = openAll(locations(cmd), EXIT.TEMPFAIL);
      const categories = categoryModelFor(store);
      // A line is printed only once its message is durable (group commit, see store/open.ts).
      const durable = async () => {
        try {
          await store.durable();
        } catch (err) {
          throw new CliExit(EXIT.TEMPFAIL, `cannot make the store durable: ${errorMessage(err)}`);
        }
      };
      const early = parseAhead({ log, maxBytes: config.limits.maxMessageSize });
      const lines = ackBatch(durable, (batch: string[]) => batch.forEach((line) => out(line)));
      try {
        for await (const raw of parsingAhead(messagesFromPaths(inputs), (r) => r.bytes, early)) {
          let result: IngestResult;
          try {
            result = await ingest(raw, { config, store, log, categoryModel: categories.current, groupCommit: true, parseAhead: early });
          } catch (err) {
            if (err instanceof StoreUnavailableError) {
              await flushBeforeFailing(lines);
              throw new CliExit(EXIT.TEMPFAIL, `${raw.source}: ${err.message}`);
            }
            throw err;
          }
          const source = raw.position ? `${raw.source}${raw.position}` : raw.source;
          if (opts.json) await lines.add(JSON.stringify({ ...result, source }));
          else await lines.add(`${source}: ${result.outcome}${result.ticket ? ` ${result.ticket}` : ''}${result.threadedBy ? ` (${result.threadedBy})` : ''}${result.outcome === 'quarantined' || result.outcome === 'duplicate' ? ` — ${result.reason}` : ''}`);
        }
        await lines.flush();
      } finally {
        await early.close();
        store.close();
      }
    });
}

/** Reports what is already safe before giving up; a failing barrier reports nothing more. */
async function flushBeforeFailing(lines: AckBatch<string>): Promise<void> {
  try {
    await lines.flush();
  } catch {
    // The caller exits with TEMPFAIL anyway.
  }
}
