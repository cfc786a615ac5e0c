import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { agentsFileSchema, helpdeskFileSchema, rulesFileSchema } from './schema';

/**
 * JSON Schemas of the three config files, generated from the zod schemas (the input side:
 * what an admin writes), so editors with a YAML language server complete and check them.
 * `npm run schema` writes them to config/schema/; a test keeps the checked-in copies current.
 */
export function jsonSchemas(): Record<string, unknown> {
  const make = (schema: z.ZodType, title: string) => ({
    ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', cycles: 'ref', reused: 'inline' }),
    title,
  });
  return {
    'helpdesk.schema.json': make(helpdeskFileSchema, 'helpdesk.yaml'),
    'agents.schema.json': make(agentsFileSchema, 'agents.yaml'),
    'rules.schema.json': make(rulesFileSchema, 'rules.yaml'),
  };
}

export function writeJsonSchemas(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, schema] of Object.entries(jsonSchemas())) writeFileSync(path.join(dir, name), `${JSON.stringify(schema, null, 2)}\n`);
}

if (require.main === module) writeJsonSchemas(process.argv[2] ?? 'config/schema');
