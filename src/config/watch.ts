import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../lib/log';
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
 * stays in force (DESIGN "Config edits are safe"). Mailbox changes need a restart: sources
 * are built once; the log says so.
 */
export function watchConfig(dir: string, initial: Config, log: Logger, env: NodeJS.ProcessEnv = process.env): LiveConfig {
  let config = initial;
  let timer: NodeJS.Timeout | null = null;
  const reload = (): boolean => {
    try {
      const next = loadConfig(dir, env);
      if (JSON.stringify(next.mailboxes) !== JSON.stringify(config.mailboxes)) {
        log.warn('mailbox settings changed: they take effect after a restart; everything else is live now');
      }
      config = next;
      log.info({ rules: next.rules.length, agents: next.agents.length }, 'config reloaded');
      return true;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      log.error({ problems: err.problems }, `config change rejected, keeping the last good config:\n${err.message}`);
      return false;
    }
  };
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dir, () => {
      // Editors write in several steps (temp file, rename); act once things settle.
      if (timer) clearTimeout(timer);
      timer = setTimeout(reload, 200);
      timer.unref();
    });
    watcher.on('error', (err) => log.warn({ err }, 'config watch failed; edits need a restart'));
  } catch (err) {
    log.warn({ err }, 'cannot watch the config folder; edits need a restart');
  }
  return {
    current: () => config,
    reload,
    close() {
      watcher?.close();
      if (timer) clearTimeout(timer);
    },
  };
}
