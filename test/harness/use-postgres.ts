import { startPostgres, type Postgres } from './postgres';

/** A private PostgreSQL for the calling test file (started before its tests, stopped after). */
export function usePostgres(): () => Postgres {
  let pg: Postgres | null = null;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
  });
  return () => {
    if (!pg) throw new Error('PostgreSQL is not started yet: use it inside a test');
    return pg;
  };
}
