import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from './log';

/**
 * Calls `onChange` once a folder's files settle after a change (editors write in several
 * steps: temp file, rename). A folder that cannot be watched is logged: edits then need a
 * restart. Returns the function that stops watching.
 */
export function watchFolder(dir: string, onChange: () => void, log: Logger, what: string, options: { recursive?: boolean } = {}): () => void {
  let timer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dir, { recursive: options.recursive ?? false }, () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(onChange, 200);
      timer.unref();
    });
    watcher.on('error', (err) => log.warn({ err }, `${what} watch failed; edits need a restart`));
  } catch (err) {
    log.warn({ err }, `cannot watch the ${what} folder; edits need a restart`);
  }
  return () => {
    watcher?.close();
    if (timer) clearTimeout(timer);
  };
}
