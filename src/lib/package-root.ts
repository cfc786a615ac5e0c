import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The project's root folder (the one holding package.json), found from this file's place, so
 * shipped files (migrations, templates, the default config) are found whether the code runs
 * from src/ (tests), dist/ (built) or dist-bench/ (benchmarks).
 */
export function packageRoot(from: string = __dirname): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}
