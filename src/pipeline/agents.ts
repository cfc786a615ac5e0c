import type { AgentConfig, Config } from '../config/schema';

/** The configured agent owning this address (main address or alias), if any. */
export function findAgent(config: Config, address: string): AgentConfig | null {
  const a = address.toLowerCase();
  return config.agents.find((agent) => agent.email === a || agent.aliases.includes(a)) ?? null;
}

export function isAgentAddress(config: Config, address: string): boolean {
  return findAgent(config, address) !== null;
}

/** Addresses that are the help desk itself (never customers, never participants). */
export function isOwnAddress(config: Config, address: string): boolean {
  const a = address.toLowerCase();
  if (a === config.helpdesk.address) return true;
  return config.mailboxes.some((m) => m.imap?.user.toLowerCase() === a);
}
