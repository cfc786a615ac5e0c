/**
 * SQLite errors that say the store itself is unusable right now (locked, full, read-only, I/O),
 * not that something is wrong with what was written: the work is offered again later.
 * PostgreSQL's counterpart is store/pg/failures.ts.
 */
export function isSqliteStoreFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|NOMEM|PROTOCOL)/.test(code);
}
