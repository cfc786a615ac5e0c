/**
 * Every error we raise says whether retrying can help (STYLE 7):
 * `transient` errors (a locked or full store, a dropped connection) are retried by the
 * caller or reported as a temporary failure (exit 75 for MTA pipes); permanent ones are
 * recorded with their reason and never retried automatically.
 */
export class HelpdeskError extends Error {
  readonly code: string;
  readonly transient: boolean;

  constructor(code: string, message: string, options: { transient?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HelpdeskError';
    this.code = code;
    this.transient = options.transient ?? false;
  }
}

/** The store could not be written; the message must be offered again later. */
export class StoreUnavailableError extends HelpdeskError {
  constructor(message: string, cause?: unknown) {
    super('STORE_UNAVAILABLE', message, { transient: true, cause });
    this.name = 'StoreUnavailableError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** `err` as an Error (a thrown string or object becomes one with its text). */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(errorMessage(err));
}
