/** Whether a string is a plain mail address (local@domain.tld), as we would send to it. */
export function isMailAddress(s: string): boolean {
  return /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(s);
}
