import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Structured logger. Logs go to stderr so that commands whose stdout is data
 * (`--json`) stay machine-readable. Level from HELPDESK_LOG_LEVEL (default info).
 */
export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? process.env.HELPDESK_LOG_LEVEL ?? 'info';
  // Synchronous writes: a line is out before the next message is taken, so a crash or SIGKILL
  // never loses the log of what was already done.
  return pino({ name: 'helpdesk', level, base: undefined }, options.destination ?? pino.destination({ dest: 2, sync: true }));
}

/** A logger that drops everything; for tests and library callers that do not care. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
