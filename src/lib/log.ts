import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Structured logger. Logs go to stderr so that commands whose stdout is data
 * (`--json`) stay machine-readable. Level from HELPDESK_LOG_LEVEL (default info).
 */
export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? process.env.HELPDESK_LOG_LEVEL ?? 'info';
  return pino({ name: 'helpdesk', level, base: undefined }, options.destination ?? pino.destination(2));
}

/** A logger that drops everything; for tests and library callers that do not care. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
