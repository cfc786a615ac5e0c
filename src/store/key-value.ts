import { eq, sql } from 'drizzle-orm';
import { prepared } from './prepared';
import type { Db } from './open';
import { keyValue } from './schema';

/** Small named values that must survive restarts (round-robin pointers, job bookkeeping). */
export function getValue(db: Db, key: string): string | null {
  const query = prepared(db, 'getValue', (d) => d.select({ value: keyValue.value }).from(keyValue).where(eq(keyValue.key, sql.placeholder('key'))).prepare());
  return query.get({ key })?.value ?? null;
}

export function setValue(db: Db, key: string, value: string): void {
  db.insert(keyValue).values({ key, value }).onConflictDoUpdate({ target: keyValue.key, set: { value } }).run();
}
