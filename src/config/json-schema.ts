import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { packageRoot } from '../lib/package-root';
import { agentsFileSchema, customersFileSchema, helpdeskFileSchema, rulesFileSchema } from './schema';
import { AGENTS_DESCRIPTIONS, CUSTOMERS_DESCRIPTIONS, readmeKeyDescriptions, RULES_DESCRIPTIONS } from './schema-descriptions';

/**
 * JSON Schemas of the three config files, generated from the zod schemas (the input side:
 * what an admin writes), so editors with a YAML language server complete and check them.
 * Keys carry descriptions (schema-descriptions.ts) and durations and sizes their patterns.
 * `npm run schema` writes them to config/schema/; a test keeps the checked-in copies current.
 */
export function jsonSchemas(): Record<string, unknown> {
  const make = (schema: z.ZodType, title: string, descriptions: Map<string, string>) => {
    const json = { ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', cycles: 'ref', reused: 'inline' }), title };
    for (const [key, text] of descriptions) describeKey(json, key, text, title);
    return json;
  };
  const readme = readmeKeyDescriptions(readFileSync(path.join(packageRoot(), 'README.md'), 'utf8'));
  return {
    'helpdesk.schema.json': make(helpdeskFileSchema, 'helpdesk.yaml', readme),
    'agents.schema.json': make(agentsFileSchema, 'agents.yaml', new Map(Object.entries(AGENTS_DESCRIPTIONS))),
    'rules.schema.json': make(rulesFileSchema, 'rules.yaml', new Map(Object.entries(RULES_DESCRIPTIONS))),
    'customers.schema.json': make(customersFileSchema, 'customers.yaml', new Map(Object.entries(CUSTOMERS_DESCRIPTIONS))),
  };
}

interface JsonNode {
  properties?: Record<string, JsonNode>;
  items?: JsonNode;
  anyOf?: JsonNode[];
  description?: string;
}

/** Sets the description of the key at `key` (`a.b`, `list[].c`); a key the schema lacks is an error (the docs drifted). */
export function describeKey(root: object, key: string, text: string, file: string): void {
  const step = (node: JsonNode | undefined, part: string): JsonNode | undefined => {
    const direct = part === '[]' ? node?.items : node?.properties?.[part];
    // A list or mapping with a refinement or a default comes out as anyOf: look inside.
    return direct ?? node?.anyOf?.map((branch) => step(branch, part)).find(Boolean);
  };
  let node: JsonNode | undefined = root as JsonNode;
  for (const part of key.replace(/\[\]/g, '.[]').split('.').filter(Boolean)) node = step(node, part);
  if (!node) throw new Error(`${file}: the documentation describes ${key}, which the schema does not have`);
  node.description = text;
}

export function writeJsonSchemas(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, schema] of Object.entries(jsonSchemas())) writeFileSync(path.join(dir, name), `${JSON.stringify(schema, null, 2)}\n`);
}

if (require.main === module) writeJsonSchemas(process.argv[2] ?? 'config/schema');
