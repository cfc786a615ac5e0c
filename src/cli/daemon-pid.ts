import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * `<data>/daemon.pid`: which process runs the daemon on a data dir, so that a second `start`
 * on the same data refuses (two daemons would take the same mail twice) and `backup restore`
 * never replaces a database under a running daemon. A file left by a daemon that was killed
 * names a process that no longer exists and is taken over.
 */
export function daemonPidFile(dataDir: string): string {
  return path.join(dataDir, 'daemon.pid');
}

/** The pid of the daemon running on this data dir, or null. */
export function runningDaemon(dataDir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(daemonPidFile(dataDir), 'utf8').trim());
  } catch {
    return null;
  }
  return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid) ? pid : null;
}

/** Writes our pid, unless another live daemon holds the data dir (then its pid is returned). */
export function claimDaemonPid(dataDir: string): { release: () => void } | { heldBy: number } {
  mkdirSync(dataDir, { recursive: true });
  const file = daemonPidFile(dataDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return {
        release: () => {
          try {
            if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
          } catch {
            // Already gone (an admin removed it): nothing to release, and an exit must not throw.
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = runningDaemon(dataDir);
      if (holder !== null) return { heldBy: holder };
      rmSync(file, { force: true }); // left by a daemon that is gone
    }
  }
  throw new Error(`could not create ${file}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
