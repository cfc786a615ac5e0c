import { sql, type SQL } from 'drizzle-orm';

/**
 * A Gmail sender's mailbox, for the acknowledgement budget (store/outbox.ts sentToSince): Gmail
 * delivers `j.ohn@`, `jo.hn@` and `john@` (and their `+tag` forms) to one inbox, so a forged
 * sender sprayed over the dotted forms of one address would otherwise get one budget per form.
 * The same expression, in each store's SQL, is indexed (outbox_template_dotless_created) and
 * queried: that is how SQLite matches an index on an expression.
 */
export const DOTLESS_DOMAINS = ['gmail.com', 'googlemail.com'];

/** The mailbox of an address at a DOTLESS_DOMAINS domain: its local part without `+tag` and dots; null elsewhere. */
export function dotlessLocal(address: string): string | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || !DOTLESS_DOMAINS.includes(address.slice(at + 1).toLowerCase())) return null;
  return address.slice(0, at).split('+')[0].replaceAll('.', '');
}

/** dotlessLocal of an outbox row's recipient, in SQLite (a '+' can only be in the local part). */
export const SQLITE_DOTLESS_LOCAL = sql.raw(
  "replace(substr(json_extract(recipients, '$[0]'), 1, (case when instr(json_extract(recipients, '$[0]'), '+') > 0 then instr(json_extract(recipients, '$[0]'), '+') else instr(json_extract(recipients, '$[0]'), '@') end) - 1), '.', '')",
);

/** dotlessLocal of an address, in PostgreSQL. */
export const pgDotlessLocal = (address: SQL) => sql`replace(split_part(split_part(${address}, '@', 1), '+', 1), '.', '')`;
