import { statSync } from 'node:fs';

/**
 * A value built from files, built again when one of them is added, removed or changed:
 * looked at on use, at most once per `recheckMs`. The daemon's knowledge base and canned
 * answers follow an admin's edits this way without a watcher to open and close.
 */
export interface RereadOnChange<T> {
  get(now?: number): T;
}

export function rereadOnChange<T>(files: () => string[], build: () => T, recheckMs = 1000): RereadOnChange<T> {
  let value: T | undefined;
  let signature = '';
  let checkedAt = -Infinity;
  return {
    get(now = Date.now()) {
      if (value !== undefined && now - checkedAt < recheckMs) return value;
      checkedAt = now;
      const current = files()
        .map((f) => {
          const s = statSync(f, { throwIfNoEntry: false });
          return `${f}:${s?.size}:${s?.mtimeMs}`;
        })
        .join('\n');
      if (value === undefined || current !== signature) {
        value = build();
        signature = current;
      }
      return value;
    },
  };
}
