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
