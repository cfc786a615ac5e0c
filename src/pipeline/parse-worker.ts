/**
 * Worker thread entry of ParseAhead (parse-ahead.ts): parses the messages it is sent, one at
 * a time and in the order they came, and answers with the InboundMail, or with the error
 * message parseMail threw. One at a time matters: parseMail is asynchronous (mailparser's
 * streams), and a message arriving mid-parse would otherwise be interleaved with the one in
 * hand, delaying the answer the pipeline is about to wait for.
 */
import { parentPort } from 'node:worker_threads';
import { errorMessage } from '../lib/errors';
import { parseMail } from './stages/parse';

export interface ParseRequest {
  id: number;
  bytes: Uint8Array;
}

export type ParseReply = { id: number; mail: import('./types').InboundMail } | { id: number; error: string };

const queue: ParseRequest[] = [];
let parsing = false;

async function parseQueued(): Promise<void> {
  parsing = true;
  for (let req = queue.shift(); req; req = queue.shift()) {
    const bytes = Buffer.from(req.bytes.buffer, req.bytes.byteOffset, req.bytes.byteLength);
    try {
      parentPort?.postMessage({ id: req.id, mail: await parseMail(bytes) } satisfies ParseReply);
    } catch (err) {
      parentPort?.postMessage({ id: req.id, error: errorMessage(err) } satisfies ParseReply);
    }
  }
  parsing = false;
}

parentPort?.on('message', (req: ParseRequest) => {
  queue.push(req);
  if (!parsing) void parseQueued();
});
