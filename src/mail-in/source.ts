import type { IngestResult, RawMessage } from '../pipeline/types';

/** Processes one message through the pipeline; throws only when it must be offered again. */
export type MessageHandler = (raw: RawMessage) => Promise<IngestResult>;

/**
 * A mail-in source (DESIGN "Flow"): hands each raw message to the handler and acknowledges
 * it (moves it out of its unprocessed state) only after the handler has returned.
 */
export interface Source {
  readonly id: string;
  /** Starts fetching; resolves when the first pass over waiting mail is done. */
  start(handler: MessageHandler): Promise<void>;
  /** Stops fetching, lets the message in hand finish, releases everything. */
  stop(): Promise<void>;
}
