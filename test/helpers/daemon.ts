import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from '../../src/lib/log';
import { startDaemon, type Daemon } from '../../src/main';
import { tempDir, writeConfigDir } from './env';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A logger whose lines are collected in `logs`, parsed. */
export function collectingLogger(): { log: Logger; logs: LogLine[] } {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), logs };
}

/** The daemon in this process, on a fresh data dir, with its log lines collected. */
export async function startTestDaemon(helpdeskYaml: string): Promise<{ daemon: Daemon; logs: LogLine[]; dataDir: string; configDir: string }> {
  const { log, logs } = collectingLogger();
  const configDir = writeConfigDir({ 'helpdesk.yaml': helpdeskYaml });
  const dataDir = tempDir('hd-daemon-');
  const daemon = await startDaemon({ configDir, dataDir }, log);
  return { daemon, logs, dataDir, configDir };
}

export function imapMailboxYaml(m: { id: string; port: number; user: string; pass?: string; ack?: string; inbox?: string; poll?: string; extra?: string }): string {
  return `  - id: ${m.id}
    imap: { host: 127.0.0.1, port: ${m.port}, secure: false, user: "${m.user}", pass: "${m.pass ?? 'test'}" }
    ack: ${m.ack ?? 'move'}
    pollInterval: ${m.poll ?? '1h'}
    folders: { inbox: ${m.inbox ?? 'INBOX'} }
${m.extra ?? ''}`;
}
