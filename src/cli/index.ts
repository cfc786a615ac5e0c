#!/usr/bin/env node
// First: an MTA's pipe announces its wish to write before anything else loads.
import './early-wish';
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../lib/package-root';
import { createLogger } from '../lib/log';
import { registerBackup } from './backup';
import { registerConfig } from './config';
import { addExamples } from './examples';
import { CliExit, EXIT } from './exit-codes';
import { registerFiles } from './files';
import { registerIngest } from './ingest';
import { registerInit } from './init';
import { registerJobs } from './jobs';
import { registerKb } from './kb';
import { registerMigrateStore } from './migrate-store';
import { registerOutbox } from './outbox';
import { registerReport } from './report';
import { registerRules } from './rules';
import { registerSpam } from './spam';
import { registerStart } from './start';
import { registerStatus } from './status';
import { registerTickets } from './tickets';

/** `helpdesk` — the one binary. Commands are defined in this folder; the work is done below. */
export async function main(argv: string[]): Promise<number> {
  // The daemon logs every message; one-shot commands print their results on stdout and
  // only log problems, unless HELPDESK_LOG_LEVEL says otherwise.
  const log = createLogger({ level: process.env.HELPDESK_LOG_LEVEL ?? (argv.includes('start') ? 'info' : 'warn') });
  const program = new Command('helpdesk')
    .description('email-to-ticket daemon')
    .option('--config <dir>', 'config directory (default: $HELPDESK_CONFIG or ./config)')
    .option('--data <dir>', 'data directory (default: $HELPDESK_DATA or ./data)')
    .version(packageVersion(), '-V, --version', 'the version of helpdesk')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    // Every command's help shows --config and --data too.
    .configureHelp({ showGlobalOptions: true });
  registerInit(program);
  registerStart(program, log);
  registerIngest(program, log);
  registerTickets(program);
  registerFiles(program);
  registerOutbox(program);
  registerJobs(program, log);
  registerBackup(program);
  registerReport(program);
  registerStatus(program);
  registerConfig(program);
  registerKb(program);
  registerRules(program, log);
  registerSpam(program);
  registerMigrateStore(program);
  addExamples(program);
  try {
    await program.parseAsync(argv);
    return EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE;
    }
    if (err instanceof CliExit) {
      process.stderr.write(`helpdesk: ${err.message}\n`);
      return err.code;
    }
    log.fatal({ err }, 'unexpected failure');
    return 1;
  }
}

if (require.main === module) {
  // `helpdesk tickets show HD-1 | head`: the reader went away; that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(EXIT.OK);
  });
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}

/** The version in package.json (the one file that says it). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
