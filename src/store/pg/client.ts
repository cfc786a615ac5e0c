import { Client, type ClientConfig } from 'pg';

/**
 * A connection of its own, outside any pool (migrations, `status`, `migrate-store`). Its own
 * error (the server ended it between two statements) fails its next statement, which says so;
 * unheard, it would be an uncaught error that ends the process. Whoever connects it ends it.
 */
export function pgClient(config: string | ClientConfig): Client {
  const client = new Client(typeof config === 'string' ? { connectionString: config } : config);
  client.on('error', () => undefined);
  return client;
}
