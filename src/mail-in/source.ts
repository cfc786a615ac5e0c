import type { Intake } from '../intake/intake';

/**
 * A mail-in source (docs/ARCHITECTURE.md "The flow"): offers each raw message to the intake as a delivery with
 * an ack; the intake calls the ack (which moves the message out of its unprocessed state) only
 * once the message's batch is durable. A pass that fails (the store is full, the connection
 * dropped) is tried again with backoff; the source's state says `failing` meanwhile.
 */
export interface Source {
  readonly id: string;
  /** Starts fetching; resolves when the first pass over waiting mail is done. */
  start(intake: Intake): Promise<void>;
  /** Stops fetching, lets the message in hand finish, releases everything. */
  stop(): Promise<void>;
}
