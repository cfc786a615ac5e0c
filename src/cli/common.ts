import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { HelpdeskError, errorMessage } from '../lib/errors';
import { terminalSafe } from '../lib/terminal-safe';
import { resolveLocations, type Locations } from '../locations';
import { openStore, type Store } from '../store/open';
import { CliExit, EXIT } from './exit-codes';

/** The options every command shares (`--config`, `--data`), read from the root command. */
export function locations(cmd: Command): Locations {
  return resolveLocations(cmd.optsWithGlobals<{ config?: string; data?: string }>());
}

/**
 * Loads the config, an invalid one ending the command with `failCode`. A read-only command
 * uses no secret: a `${VAR}` not set in this shell (the IMAP password from
 * /etc/helpdesk.env) stays as written. Commands that write keep the strict reading: the
 * Message-ID key (notifications.secret) may come from the environment too.
 */
export function configAt(where: Locations, failCode: number = EXIT.CONFIG, opts: { readOnly?: boolean } = {}): Config {
  try {
    return loadConfig(where.configDir, process.env, { unsetVariables: opts.readOnly ? 'keep' : 'error' });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliExit(failCode, `invalid configuration:\n${err.message}`);
    throw err;
  }
}

/** Loads config and opens the store, turning failures into the given exit code. */
export function openAll(where: Locations, failCode: number = EXIT.CONFIG, opts: { readOnly?: boolean } = {}): { config: Config; store: Store } {
  const config = configAt(where, failCode, opts);
  // A desk on PostgreSQL has no SQLite file to show: an empty one would be opened and shown.
  if (config.store.postgres) throw new CliExit(failCode, 'this command works on the SQLite store only, and this desk is on PostgreSQL (store.postgres in helpdesk.yaml); docs/CLUSTER.md lists the commands that run there');
  return { config, store: openSqlite(where, failCode) };
}

/** The SQLite store in --data; a failure to open it ends the command (a busy file: temporary). */
export function openSqlite(where: Locations, failCode: number): Store {
  try {
    return openStore(where.dataDir);
  } catch (err) {
    throw new CliExit(err instanceof HelpdeskError && err.transient ? EXIT.TEMPFAIL : failCode, errorMessage(err));
  }
}

/**
 * Writes one line to stdout (the data channel of the CLI). Subjects, names and file names come
 * from strangers' mail: what a terminal would act on is shown as `\uXXXX` (terminal-safe.ts).
 */
export function out(line: string): void {
  process.stdout.write(`${terminalSafe(line)}\n`);
}

/** A commander parser for a whole number ≥ 1 (`--limit 20`); anything else is a usage error naming the option. */
export function positiveInt(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new CliExit(EXIT.USAGE, `${name} must be a whole number of 1 or more, got "${value}"`);
    return n;
  };
}
