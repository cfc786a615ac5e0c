import { readFileSync } from 'node:fs';
import { listFiles, splitMbox } from '../mail-in/files';

const NOT_MAIL = /\.(json|ya?ml|tsv|md|txt\.expected|expected)$|(^|\/)(README|LICENSE|COPYING)[^/]*$/i;

/** Every message under a corpus folder (expected-result and licence files left out). */
export function loadCorpus(dir: string): Buffer[] {
  return listFiles(dir)
    .filter((f) => !NOT_MAIL.test(f.name) && !f.name.includes('/files/'))
    .flatMap((f) => splitMbox(readFileSync(f.path)));
}

/** Messages per second of `work` over `count` messages. */
export async function rate(count: number, work: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

export const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
