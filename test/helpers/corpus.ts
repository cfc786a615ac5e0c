import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, type Tags } from 'yaml';
import { FIXTURES } from './env';

export const MAIL_CORPUS = path.join(FIXTURES, 'mail');

/** Every mail file of the corpus, from its index (CATEGORIES.tsv), with its categories. */
export function corpusMails(): { file: string; categories: string[] }[] {
  return readFileSync(path.join(MAIL_CORPUS, 'CATEGORIES.tsv'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [file, cats] = l.split('\t');
      return { file, categories: (cats ?? '').split(',').filter(Boolean) };
    });
}

// Zammad's expectation files are Ruby-tagged YAML: the hash tag is an ordinary map and
// !binary is base64 (corpus README).
const rubyTags: Tags = [
  { tag: '!ruby/hash:ActiveSupport::HashWithIndifferentAccess', collection: 'map', resolve: (m: unknown) => m } as unknown as Tags[number],
  { tag: '!binary', resolve: (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'base64') } as unknown as Tags[number],
];

export interface ZammadExpected {
  from?: string;
  from_email?: string;
  from_display_name?: string;
  to?: string;
  cc?: string;
  subject?: string;
  body?: string;
  content_type?: string;
  attachments?: { data: string | Buffer; filename: string; preferences: Record<string, unknown> }[];
}

export function zammadExpected(box: string): ZammadExpected {
  const text = readFileSync(path.join(MAIL_CORPUS, 'zammad', box.replace(/\.box$/, '.yml')), 'utf8');
  return parseYaml(text, { customTags: rubyTags, maxAliasCount: -1 }) as ZammadExpected;
}
