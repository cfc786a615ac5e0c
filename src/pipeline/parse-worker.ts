/**
 * Worker thread entry of ParseAhead (parse-ahead.ts): parses the messages it is sent and
 * answers with the InboundMail, or with the error message parseMail threw.
 */
import { parentPort } from 'node:worker_threads';
import { errorMessage } from '../lib/errors';
import { parseMail } from './stages/parse';

export interface ParseRequest {
  id: number;
  bytes: Uint8Array;
}

export type ParseReply = { id: number; mail: import('./types').InboundMail } | { id: number; error: string };

parentPort?.on('message', (req: ParseRequest) => {
  const bytes = Buffer.from(req.bytes.buffer, req.bytes.byteOffset, req.bytes.byteLength);
  parseMail(bytes).then(
    (mail) => parentPort?.postMessage({ id: req.id, mail } satisfies ParseReply),
    (err: unknown) => parentPort?.postMessage({ id: req.id, error: errorMessage(err) } satisfies ParseReply),
  );
});
