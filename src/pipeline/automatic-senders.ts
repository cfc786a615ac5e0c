/** Addresses of mail systems that report on delivery (bounces come from them). */
export const BOUNCE_SENDER = /^(mailer-daemon|post_?master|mail-daemon|mailerdaemon|bounce[s]?|mail\.delivery\.system)(@|$)/i;

/** Senders that never read what we send them. */
export const NO_REPLY = /^(no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|noreply[-_.][^@]*|bounces?|notifications?)@/i;

/** An address no person reads: never a participant, never acknowledged. */
export function isAutomaticAddress(address: string): boolean {
  return BOUNCE_SENDER.test(address) || NO_REPLY.test(address);
}
