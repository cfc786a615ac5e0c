import type { ParseAhead } from '../pipeline/parse-ahead';
import type { IngestResult, RawMessage } from '../pipeline/types';

/** Where a source hands its mail: the pipeline, and the store's durability barrier. */
export interface MessageSink {
  /** Processes one message through the pipeline; throws only when it must be offered again. */
  ingest(raw: RawMessage): Promise<IngestResult>;
  /**
   * Makes everything ingested so far survive a power cut (Store.durable). A source calls it
   * once per batch, after the ingests and before acknowledging them; it rejects when the
   * store cannot be written, and then nothing of the batch may be acknowledged.
   */
  durable(): Promise<void>;
  /** Parses upcoming messages early on another thread (parse-ahead.ts); sources feed it with parsingAhead(). */
  parseAhead?: ParseAhead;
}

/**
 * A mail-in source (DESIGN "Flow"): hands each raw message to the sink and acknowledges
 * it (moves it out of its unprocessed state) only after the sink has made it durable.
 */
export interface Source {
  readonly id: string;
  /** Starts fetching; resolves when the first pass over waiting mail is done. */
  start(sink: MessageSink): Promise<void>;
  /** Stops fetching, lets the message in hand finish, releases everything. */
  stop(): Promise<void>;
}
