import type { AgentConfig, Config } from '../config/schema';

/** The configured agent owning this address (main address or alias), if any. */
export function findAgent(config: Config, address: string): AgentConfig | null {
  const a = address.toLowerCase();
  return config.agents.find((agent) => agent.email === a || agent.aliases.includes(a)) ?? null;
}

/** The agent a person wrote by address, alias or name, any case (`#assign ana`, `tickets set`, `assignee:ana`). */
export function findAgentNamed(config: Config, who: string): AgentConfig | null {
  const w = who.trim().toLowerCase();
  return findAgent(config, w) ?? config.agents.find((agent) => agent.name.toLowerCase() === w) ?? null;
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
