import { SingleBar } from 'cli-progress';
import { statSync } from 'node:fs';
import { listFiles } from '../mail-in/files';
import { out } from './common';

/** Progress of a command that reads many files, counted in files (an mbox file holds many messages). */
export interface FileProgress {
  /** A message from this file was handled (a new file advances the bar). */
  message(source: string): void;
  /** Prints a result line (above the bar while it is shown). */
  print(line: string): void;
  stop(): void;
}

/**
 * A progress bar on stderr (cli-progress) for `ingest DIR` and `spam train`, with the total,
 * messages, rate and time left; only when stdout and stderr are a terminal, so pipes, files and
 * MTAs get nothing but the results.
 */
export function fileProgress(label: string, paths: string[]): FileProgress {
  const none: FileProgress = { message: () => undefined, print: out, stop: () => undefined };
  // In a pipe nothing is shown, so nothing is counted (a folder is walked once, by the reader).
  if (!process.stdout.isTTY || !process.stderr.isTTY) return none;
  const total = paths.filter((p) => p !== '-').reduce((n, p) => n + (statSync(p).isDirectory() ? listFiles(p).length : 1), 0);
  if (total === 0) return none;
  const bar = new SingleBar({
    stream: process.stderr,
    format: `${label} {bar} {value}/{total} files · {messages} messages · {rate} messages/s · {eta_formatted} left`,
    hideCursor: true,
    etaBuffer: 50,
    // print() clears the line the bar is on; the next render must draw it again.
    forceRedraw: true,
  });
  bar.start(total, 0, { messages: 0, rate: 0 });
  const started = Date.now();
  let last: string | null = null;
  let messages = 0;
  return {
    message(source) {
      messages++;
      const rate = Math.round(messages / Math.max(0.001, (Date.now() - started) / 1000));
      if (source !== last) {
        last = source;
        bar.increment(1, { messages, rate });
      } else bar.update({ messages, rate });
    },
    // The line goes to stdout at once, above the bar (cli-progress's own log buffer is only
    // written at the next redraw, and its stop() drops what is still buffered).
    print: (line) => {
      process.stderr.write('\r\x1b[2K');
      out(line);
      bar.render();
    },
    stop: () => bar.stop(),
  };
}
