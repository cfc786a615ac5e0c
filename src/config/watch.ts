import { watchFolder } from '../lib/watch-folder';
import type { Logger } from '../lib/log';
import { configWarnings } from './check';
import { ConfigError, loadConfig } from './load';
import type { Config } from './schema';

/** The config in force; replaced when a valid edit lands in the config folder. */
export interface LiveConfig {
  current(): Config;
  /** Re-reads the folder now (the watcher calls this); returns whether the new config took. */
  reload(): boolean;
  close(): void;
}

/**
 * Watches config/ and swaps in a new config for the next message when the files change and
 * validate. An invalid edit is logged with file, line and column and the last good config
 * stays in force (README "Live reload"). Mailbox changes need a restart: sources
 * are built once; the log says so.
 */
export function watchConfig(dir: string, initial: Config, log: Logger, env: NodeJS.ProcessEnv = process.env): LiveConfig {
  let config = initial;
  const warn = (c: Config) => {
    for (const warning of configWarnings(c)) log.warn({ warning }, `config warning: ${warning}`);
  };
  warn(initial);
  const reload = (): boolean => {
    try {
      const next = loadConfig(dir, env);
      if (JSON.stringify(next.mailboxes) !== JSON.stringify(config.mailboxes)) {
        log.warn('mailbox settings changed: they take effect after a restart; everything else is live now');
      }
      config = next;
      log.info({ rules: next.rules.length, agents: next.agents.length }, 'config reloaded');
      warn(next);
      return true;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      log.error({ problems: err.problems }, `config change rejected, keeping the last good config:\n${err.message}`);
      return false;
    }
  };
  const stop = watchFolder(dir, reload, log, 'config');
  return {
    current: () => config,
    reload,
    close: stop,
  };
}
