import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { silentLogger } from '../../src/lib/log';
import { packageRoot } from '../../src/lib/package-root';
import { ParseTimeout, ParseWorkerGone, parseAhead, parsedWithin, parsingAhead } from '../../src/pipeline/parse-ahead';
import { ingest } from '../../src/pipeline/run';
import { parseMail } from '../../src/pipeline/stages/parse';
import type { InboundMail } from '../../src/pipeline/types';
import { MAIL_CORPUS, corpusMails } from '../helpers/corpus';
import { openTestDesk, removeTempDirs, tempDir } from '../helpers/env';
import { buildMail } from '../helpers/mail';

// The worker runs compiled code: `npm test` builds dist/ before jest runs.
const WORKER = path.join(packageRoot(), 'dist', 'pipeline', 'parse-worker.js');

afterAll(() => removeTempDirs());

/** A date (as mailparser writes it, `Sat, 05 Dec 2026 12:16:41 GMT`) within ten minutes of now: the time of a parse. */
const nowish = (d: string) => Math.abs(Date.parse(d) - Date.now()) < 600_000;

/**
 * A message without a Date header gets the time it was parsed (mailparser), which differs
 * between two parses, as does an attached message's unreadable Date (`23:34:45 JST`) in the
 * header lines mailparser writes into the text; and a Date cloned from the worker belongs to
 * another realm than jest's.
 */
function comparable(mail: InboundMail) {
  const t = mail.date?.getTime() ?? null;
  const parseTimes = (s: string | null) => s?.replace(/(Date:(?:<\/td><td class="mp_head_value">)? ?)([A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} [\d:]{8} GMT)/g, (all, key: string, d: string) => (nowish(d) ? `${key}parse time` : all)) ?? null;
  return {
    ...mail,
    text: parseTimes(mail.text),
    html: parseTimes(mail.html),
    date: t !== null && Math.abs(t - Date.now()) < 600_000 ? 'parse time' : t,
    // jest compares typed arrays element by element (minutes for the corpus): hash them.
    attachments: mail.attachments.map((a) => ({ ...a, content: `${Buffer.isBuffer(a.content)} ${createHash('sha256').update(a.content).digest('hex')}` })),
  };
}

describe('parsing ahead on a worker thread', () => {
  beforeAll(() => {
    if (!existsSync(WORKER)) throw new Error(`${WORKER} is missing: run npm run build first`);
  });

  it('gives exactly what parsing inline gives, for every corpus message, errors included', async () => {
    const files = corpusMails().map((m) => path.join(MAIL_CORPUS, m.file));
    expect(files.length).toBeGreaterThan(100);
    const messages = [...files.map((f) => readFileSync(f)), Buffer.from('just some words, no header at all\n')];
    const early = parseAhead({ log: silentLogger(), maxBytes: 100 * 1024 * 1024, workerFile: WORKER });
    let compared = 0;
    let failures = 0;
    try {
      for await (const bytes of parsingAhead(messages, (m) => m, early)) {
        const promise = early.take(bytes);
        expect(promise).toBeDefined();
        const viaWorker = await (promise as Promise<InboundMail>).then(
          (mail) => ({ mail: comparable(mail) }),
          (err: Error) => ({ error: err.message }),
        );
        const inline = await parseMail(bytes).then(
          (mail) => ({ mail: comparable(mail) }),
          (err: Error) => ({ error: err.message }),
        );
        expect(viaWorker).toEqual(inline);
        if ('error' in inline) failures++;
        compared++;
      }
    } finally {
      await early.close();
    }
    expect(compared).toBe(messages.length);
    expect(failures).toBeGreaterThan(0); // the error path was compared too
  });

  it('answers in the order the messages were sent: a big message is not overtaken by the small one after it', async () => {
    // Parsing is asynchronous; a worker that took the next message mid-parse would finish the
    // small one first and make the pipeline, which needs the big one next, wait for both.
    // Many parts: mailparser walks them with many asynchronous steps, where a worker that does
    // not queue picks up the next message.
    const parts = Array.from({ length: 900 }, (_, i) => `--b\r\nContent-Type: application/octet-stream; name="f${i}.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(`part ${i}`).toString('base64')}\r\n`).join('');
    const big = Buffer.from(`From: a@c.test\r\nSubject: many files\r\nMessage-ID: <big@c.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${parts}--b--\r\n`);
    const small = buildMail({ messageId: '<small@c.test>' });
    const early = parseAhead({ log: silentLogger(), maxBytes: 100 * 1024 * 1024, workerFile: WORKER });
    const answered: string[] = [];
    try {
      early.ahead(big);
      early.ahead(small);
      await Promise.all(
        [
          [big, 'big'],
          [small, 'small'],
        ].map(([bytes, name]) => (early.take(bytes as Buffer) as Promise<InboundMail>).then(() => answered.push(name as string))),
      );
      expect(answered).toEqual(['big', 'small']);
    } finally {
      await early.close();
    }
  });

  it('hands Buffers back for attachments, and nothing for a message too big to parse early', async () => {
    const early = parseAhead({ log: silentLogger(), maxBytes: 2000, workerFile: WORKER });
    try {
      const withFile = Buffer.from(
        [
          'From: c@c.test',
          'Subject: file',
          'Message-ID: <file@c.test>',
          'Content-Type: multipart/mixed; boundary="b"',
          '',
          '--b',
          'Content-Type: text/plain',
          '',
          'see attached',
          '--b',
          'Content-Type: application/octet-stream; name="a.bin"',
          'Content-Disposition: attachment; filename="a.bin"',
          'Content-Transfer-Encoding: base64',
          '',
          Buffer.from([0, 1, 2, 250]).toString('base64'),
          '--b--',
          '',
        ].join('\r\n'),
      );
      early.ahead(withFile);
      const mail = await early.take(withFile);
      expect(Buffer.isBuffer(mail?.attachments[0].content)).toBe(true);
      expect(mail?.attachments[0].content).toEqual(Buffer.from([0, 1, 2, 250]));
      const big = buildMail({ body: 'x'.repeat(5000) });
      early.ahead(big);
      expect(early.take(big)).toBeUndefined();
    } finally {
      await early.close();
    }
  });

  it('parses inline what a dying worker had in hand, and the messages still become tickets', async () => {
    const dying = path.join(tempDir('hd-worker-'), 'dying-worker.js');
    writeFileSync(dying, "require('node:worker_threads').parentPort.on('message', () => process.exit(3));\n");
    const desk = openTestDesk();
    const early = parseAhead({ log: silentLogger(), maxBytes: 1e6, workerFile: dying });
    try {
      const messages = [0, 1, 2].map((i) => buildMail({ messageId: `<dying-${i}@c.test>`, from: `d${i}@c.test` }));
      const failed = (async () => {
        early.ahead(messages[0]);
        return (early.take(messages[0]) as Promise<unknown>).catch((err: unknown) => err);
      })();
      expect(await failed).toBeInstanceOf(ParseWorkerGone);
      const outcomes: string[] = [];
      let i = 0;
      for await (const bytes of parsingAhead(messages, (m) => m, early)) {
        const result = await ingest({ bytes, source: 'test', position: String(i++), mailbox: 'support' }, { config: desk.config, store: desk.store, log: silentLogger(), parseAhead: early });
        outcomes.push(result.outcome);
      }
      expect(outcomes).toEqual(['created', 'created', 'created']);
    } finally {
      await early.close();
      desk.close();
    }
  });

  it('quarantines a message that stops the worker parsing it, once workers are known to parse, never parsing it inline', async () => {
    // The real worker, with a fault injected: a message carrying the marker throws where no
    // parse catches it (as a fault deep in a dependency would), which stops the worker.
    const crashing = path.join(tempDir('hd-worker-'), 'crashing-worker.js');
    writeFileSync(crashing, `require('node:worker_threads').parentPort.on('message', (req) => { if (Buffer.from(req.bytes).includes('CRASH-THE-PARSER')) throw new Error('fault outside the parse'); });\nrequire(${JSON.stringify(WORKER)});\n`);
    const desk = openTestDesk();
    const early = parseAhead({ log: silentLogger(), maxBytes: 1e6, workerFile: crashing });
    try {
      const messages = [
        buildMail({ messageId: '<before@c.test>', from: 'a@c.test' }),
        buildMail({ messageId: '<hostile@c.test>', from: 'b@c.test', body: 'CRASH-THE-PARSER' }),
        buildMail({ messageId: '<after@c.test>', from: 'c@c.test' }),
      ];
      const results = [];
      let i = 0;
      for await (const bytes of parsingAhead(messages, (m) => m, early)) {
        results.push(await ingest({ bytes, source: 'test', position: String(i++), mailbox: 'support' }, { config: desk.config, store: desk.store, log: silentLogger(), parseAhead: early }));
      }
      expect(results.map((r) => r.outcome)).toEqual(['created', 'quarantined', 'created']);
      expect(results[1].reason).toMatch(/^parse: stopped the worker parsing it \(.*fault outside the parse\); not parsed on the daemon's own thread$/);
    } finally {
      await early.close();
      desk.close();
    }
  });

  it('quarantines a message whose parse runs out of memory on its own worker, never parsing it inline', async () => {
    // 4 MB of html that is all `<`: its own worker (256 MB) runs out of memory in seconds; the
    // main thread, with no limit, took 2.4 GB and 23 s for 20 MB of it, every mailbox waiting.
    const desk = openTestDesk();
    const early = parseAhead({ log: silentLogger(), maxBytes: 25 * 1024 * 1024, workerFile: WORKER });
    try {
      const bytes = Buffer.from(`From: a@c.test\r\nTo: support@example.test\r\nSubject: all brackets\r\nMessage-ID: <brackets@c.test>\r\nContent-Type: text/html\r\n\r\n<html><body>${'<'.repeat(4_000_000)}</body></html>\r\n`);
      const result = await ingest({ bytes, source: 'test', position: null, mailbox: 'support' }, { config: desk.config, store: desk.store, log: silentLogger(), parseAhead: early });
      expect(result.outcome).toBe('quarantined');
      expect(result.reason).toMatch(/^parse: needs more memory than a parse may use \(256 MB\): Worker terminated due to reaching memory limit/);
      const next = await ingest({ bytes: buildMail({ messageId: '<after-brackets@c.test>' }), source: 'test', position: null, mailbox: 'support' }, { config: desk.config, store: desk.store, log: silentLogger(), parseAhead: early });
      expect(next.outcome).toBe('created');
    } finally {
      await early.close();
      desk.close();
    }
  }, 60_000);

  it('keeps parsing ahead after messages that exhaust the shared worker\'s memory: they are not worker deaths', async () => {
    // 2 MB of html that is all `<` (sent ahead: under 2 MiB) exhausts the shared worker's heap.
    // Five such deaths used to stop parsing ahead for the daemon's life.
    const early = parseAhead({ log: silentLogger(), maxBytes: 25 * 1024 * 1024, workerFile: WORKER });
    try {
      for (let i = 0; i < 5; i++) {
        const bytes = Buffer.from(`From: a@c.test\r\nTo: support@example.test\r\nSubject: brackets ${i}\r\nMessage-ID: <brackets-${i}@c.test>\r\nContent-Type: text/html\r\n\r\n<html><body>${'<'.repeat(2_080_000)}</body></html>\r\n`);
        early.ahead(bytes);
        await expect(early.take(bytes)).rejects.toThrow(ParseWorkerGone);
      }
      const next = buildMail({ messageId: '<still-ahead@c.test>' });
      early.ahead(next);
      expect((await early.take(next))?.messageId).toBe('<still-ahead@c.test>');
    } finally {
      await early.close();
    }
  }, 60_000);

  describe('limits.processingTime', () => {
    /** Well-formed html that takes the parse stage about a second per 2 MB (sanitize-html and html-to-text). */
    const slowMail = (repeats: number) => Buffer.from(`From: a@c.test\r\nTo: support@example.test\r\nSubject: long\r\nMessage-ID: <slow-${repeats}@c.test>\r\nContent-Type: text/html\r\n\r\n${'<p>hello <b>world</b></p>'.repeat(repeats)}\r\n`);
    const inline = () => Promise.reject(new Error('parsed inline: the parse could not have been abandoned'));

    it('abandons the shared worker’s parse past the budget; the next message is parsed on a new worker', async () => {
      const early = parseAhead({ log: silentLogger(), maxBytes: 25 * 1024 * 1024, workerFile: WORKER });
      try {
        const slow = slowMail(70_000); // 1.75 MB: sent ahead to the shared worker
        const next = buildMail({ messageId: '<next@c.test>' });
        early.ahead(slow);
        early.ahead(next);
        await expect(parsedWithin(early, slow, 100, inline)).rejects.toThrow(ParseTimeout);
        expect((await parsedWithin(early, next, 60_000, inline)).messageId).toBe('<next@c.test>');
        early.ahead(buildMail({ messageId: '<later@c.test>' }));
      } finally {
        await early.close();
      }
    });

    it('abandons the parse of a message too big for the shared worker, on a worker of its own', async () => {
      const early = parseAhead({ log: silentLogger(), maxBytes: 25 * 1024 * 1024, workerFile: WORKER });
      try {
        const big = slowMail(200_000); // 5 MB: parsed alone
        early.ahead(big); // not taken: too big for the shared worker
        await expect(parsedWithin(early, big, 100, inline)).rejects.toThrow(/took longer than limits\.processingTime \(100 ms\)/);
        const small = buildMail({ messageId: '<small@c.test>' });
        expect((await parsedWithin(early, small, 60_000, inline)).messageId).toBe('<small@c.test>');
      } finally {
        await early.close();
      }
    });
  });
});
