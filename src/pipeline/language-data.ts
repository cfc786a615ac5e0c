import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../lib/package-root';

/**
 * eld's "small" n-gram set as JSON, written by `npm run build` (this file run as a script)
 * and read by pipeline/language.ts. eld ships it as a 1.6 MB JavaScript object literal, and
 * compiling that literal cost the daemon 145 MB of resident memory that it never gave back
 * (heap pages V8 kept, the literal's boilerplate and bytecode); JSON.parse of the same data
 * costs 46 MB (a bare `node` loading each, then a forced GC; bench:imap prints the daemon's
 * peak). The file records the eld version it came from: after an upgrade without a build the
 * module is loaded as before.
 */
export const ELD_DATA_FILE = path.join(packageRoot(), 'dist', 'eld-small.json');

interface EldDataFile {
  eld: string;
  ngrams: unknown;
}

/** The installed eld package's folder (its `exports` offer only `import`, which `require.resolve` cannot use). */
export function eldDir(): string {
  const dir = (require.resolve.paths('eld') ?? []).map((p) => path.join(p, 'eld')).find((p) => existsSync(path.join(p, 'package.json')));
  if (!dir) throw new Error('the eld package is not installed');
  return dir;
}

const eldVersion = (dir: string) => (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;

/** eld's own n-gram set, compiled from its module (the costly way). */
function eldModuleData(dir: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an ES module's file, by path (Node ≥ 20.19 requires ES modules)
  return (require(path.join(dir, 'src', 'ngrams', 'small.js')) as { ngramsData: unknown }).ngramsData;
}

/**
 * The n-gram set for eld's loadData(): from the build's JSON when it matches the installed eld,
 * else (no build, another eld, a file cut short) from eld's module.
 */
export function eldData(dir: string, file = ELD_DATA_FILE): unknown {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as EldDataFile;
    if (data.eld === eldVersion(dir)) return data.ngrams;
  } catch {
    // read from the module below
  }
  return eldModuleData(dir);
}

export function writeEldData(file = ELD_DATA_FILE): void {
  const dir = eldDir();
  writeFileSync(file, JSON.stringify({ eld: eldVersion(dir), ngrams: eldModuleData(dir) } satisfies EldDataFile));
}

if (require.main === module) writeEldData();
