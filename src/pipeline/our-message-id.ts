import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { escapeRegex } from '../lib/regex';

/**
 * The Message-IDs we generate carry the ticket ref and an HMAC of it:
 * `<HD-12.4f9c2a7d1e0b.9a8b7c6d5e4f3a2b@example.com>`. A reply to any of our mails threads
 * by them even when the stored row is gone, and nobody can forge a reference to somebody
 * else's ticket without the secret. The same token, as `[ref:HD-12.4f9c…]`, goes into the
 * body as a fallback for mail systems that rewrite Message-IDs.
 */

const TOKEN_HEX = 16;

function sign(secret: string, ref: string, nonce: string): string {
  return createHmac('sha256', secret).update(`${ref}.${nonce}`).digest('hex').slice(0, TOKEN_HEX);
}

/** `HD-12.<nonce>.<hmac>`: what both the Message-ID and the body marker carry. */
export function signedToken(secret: string, ref: string, nonce: string = randomBytes(6).toString('hex')): string {
  return `${ref}.${nonce}.${sign(secret, ref, nonce)}`;
}

export function ourMessageId(token: string, supportAddress: string): string {
  return `<${token}@${domainOf(supportAddress)}>`;
}

export function bodyMarker(token: string): string {
  return `[ref:${token}]`;
}

/** The ticket ref a token names, when its HMAC is right; otherwise null. */
export function verifyToken(secret: string, prefix: string, token: string): string | null {
  const m = new RegExp(`^(${escapeRegex(prefix)}-\\d{1,12})\\.([0-9a-f]{6,32})\\.([0-9a-f]{${TOKEN_HEX}})$`, 'i').exec(token);
  if (!m) return null;
  const ref = m[1].toUpperCase();
  const expected = Buffer.from(sign(secret, ref, m[2].toLowerCase()));
  const given = Buffer.from(m[3].toLowerCase());
  return expected.length === given.length && timingSafeEqual(expected, given) ? ref : null;
}

/** The ref of one of our Message-IDs (`<token@our-domain>`), verified; otherwise null. */
export function refFromMessageId(secret: string, prefix: string, supportAddress: string, messageId: string): string | null {
  const m = /^<([^@<>]+)@([^<>]+)>$/.exec(messageId.trim());
  if (!m || m[2].toLowerCase() !== domainOf(supportAddress)) return null;
  return verifyToken(secret, prefix, m[1]);
}

/** The ref of a verified `[ref:…]` marker in a body (quoted replies keep it), or null. */
export function refFromBody(secret: string, prefix: string, text: string): string | null {
  for (const m of text.matchAll(/\[ref:([A-Za-z0-9.-]{10,80})\]/g)) {
    const ref = verifyToken(secret, prefix, m[1]);
    if (ref) return ref;
  }
  return null;
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}
