/** sysexits(3) codes, as MTAs understand them. */
export const EXIT = {
  OK: 0,
  /** Bad usage: unknown option, missing argument, input that does not exist. */
  USAGE: 64,
  /** The ticket or thing asked for does not exist. */
  NOT_FOUND: 1,
  /** A check (`tickets reindex --check`, `kb check`) found a fault. */
  CHECK_FAILED: 1,
  /** Temporary failure (store or config unusable): an MTA keeps the message and retries. */
  TEMPFAIL: 75,
  /** The configuration is invalid (commands other than `ingest`). */
  CONFIG: 78,
} as const;

/** Raised by command code to end the process with a code and a message for stderr. */
export class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
