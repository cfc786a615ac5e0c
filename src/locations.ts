import { existsSync } from 'node:fs';
import path from 'node:path';

/** Where config and data live: `--config`/`--data`, else HELPDESK_CONFIG/HELPDESK_DATA, else ./config and ./data. */
export interface Locations {
  configDir: string;
  dataDir: string;
}

export function resolveLocations(options: { config?: string; data?: string }, env = process.env): Locations {
  return {
    configDir: path.resolve(options.config ?? env.HELPDESK_CONFIG ?? 'config'),
    dataDir: path.resolve(options.data ?? env.HELPDESK_DATA ?? 'data'),
  };
}

/**
 * A path from the config that names a place for data (a Maildir, the outbox folder, backups):
 * absolute as written, relative ones under the data dir, so two desks with different `--data`
 * never share a mailbox.
 */
export function inDataDir(dataDir: string, configured: string): string {
  return path.resolve(dataDir, configured);
}

/**
 * Why a relative data path must not be used as configured: it resolved against the working
 * directory before relative paths followed `--data`, and that old place exists while the new
 * one does not, so mail would be left unread there. Null when it is fine.
 */
export function movedDataPath(dataDir: string, key: string, configured: string): string | null {
  if (path.isAbsolute(configured)) return null;
  const now = inDataDir(dataDir, configured);
  const before = path.resolve(configured);
  if (now === before || existsSync(now) || !existsSync(before)) return null;
  return `${key} "${configured}" resolves against the data dir (${now}), which does not exist, while ${before} does: relative paths follow --data now; write it relative to ${dataDir} or as an absolute path`;
}
