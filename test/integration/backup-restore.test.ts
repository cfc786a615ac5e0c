import fs, { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { restoreDatabase } from '../../src/store/restore';
import { runCli } from '../helpers/cli';
import { errnoError } from '../helpers/faults';
import { removeTempDirs, tempDir, writeConfigDir } from '../helpers/env';
import { buildMail } from '../helpers/mail';

afterAll(() => removeTempDirs());

/** A desk run through the built CLI: mail in, a backup by the backup job, more mail after it. */
function deskWithBackup() {
  const config = writeConfigDir({ 'helpdesk.yaml': 'helpdesk: { address: support@example.test }\nmailboxes: []\n' });
  const data = tempDir('hd-restore-');
  const args = ['--config', config, '--data', data];
  const ingest = (id: string, from: string) => expect(runCli([...args, 'ingest', '-'], { input: buildMail({ messageId: `<${id}@c.test>`, from, subject: id }) }).code).toBe(0);
  ingest('before-1', 'a@c.test');
  ingest('before-2', 'b@c.test');
  const backup = JSON.parse(runCli([...args, 'jobs', 'run', 'backup', '--json']).stdout) as { file: string };
  ingest('after-1', 'c@c.test');
  return { args, data, backup: backup.file };
}

const tickets = (args: string[]) => (JSON.parse(runCli([...args, 'tickets', 'list', '--json']).stdout) as { subject: string }[]).map((t) => t.subject).sort();

describe('helpdesk backup restore', () => {
  it('puts the backup in place, keeps the database it replaced, and lists the mail that came after it to take in again', () => {
    const { args, backup } = deskWithBackup();
    expect(tickets(args)).toEqual(['after-1', 'before-1', 'before-2']);

    const r = runCli([...args, 'backup', 'restore', backup, '--json']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const result = JSON.parse(r.stdout) as { tickets: number; messages: number; previous: string; missingFiles: number; unknownRawMails: number; unknownRawList: string };
    expect(result).toMatchObject({ tickets: 2, messages: 2, missingFiles: 0, unknownRawMails: 1 });
    expect(tickets(args)).toEqual(['before-1', 'before-2']);
    // The replaced database is whole (its WAL went with it): it still has the third ticket.
    expect(tickets(['--config', args[1], '--data', tempDirWith(result.previous)])).toEqual(['after-1', 'before-1', 'before-2']);

    // The mail after the backup is still in raw/: taken in again, the desk is whole.
    const listed = readFileSync(result.unknownRawList, 'utf8').trim().split('\n');
    expect(listed).toHaveLength(1);
    expect(runCli([...args, 'ingest', ...listed]).code).toBe(0);
    expect(tickets(args)).toEqual(['after-1', 'before-1', 'before-2']);
  });

  it('refuses while a daemon runs on the data dir, and refuses a file that is not a helpdesk backup', () => {
    const { args, data, backup } = deskWithBackup();
    // This test process stands in for a running daemon.
    writeFileSync(path.join(data, 'daemon.pid'), `${process.pid}\n`);
    const running = runCli([...args, 'backup', 'restore', backup]);
    expect(running.code).toBe(75);
    expect(running.stderr).toContain(`a helpdesk daemon (pid ${process.pid}) runs on ${data}: stop it first`);

    // A pid file left by a daemon that is gone does not count.
    writeFileSync(path.join(data, 'daemon.pid'), '999999999\n');
    const notDb = path.join(tempDir('hd-notdb-'), 'x.sqlite');
    writeFileSync(notDb, 'this is not a database at all, just text long enough to have a header page');
    const bad = runCli([...args, 'backup', 'restore', notDb]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/x\.sqlite (is not a SQLite database|cannot be read as a database): file is not a database/);
    expect(runCli([...args, 'backup', 'restore', path.join(data, 'missing.sqlite')]).stderr).toContain('missing.sqlite: no such file');
    // Nothing was replaced by the refusals.
    expect(tickets(args)).toEqual(['after-1', 'before-1', 'before-2']);
    expect(existsSync(backup)).toBe(true);
  });

  it('a restore whose renames cannot be made durable (the data folder\'s fsync fails) is reported as failed, not as done', () => {
    const { data, backup } = deskWithBackup();
    // The very fsync the restore makes of the data folder fails, as on a dying disk.
    const folders = new Set<number>();
    const realOpen = fs.openSync.bind(fs);
    const realFsync = fs.fsyncSync.bind(fs);
    jest.spyOn(fs, 'openSync').mockImplementation(((target: fs.PathLike, ...rest: unknown[]) => {
      const fd = (realOpen as (...a: unknown[]) => number)(target, ...rest);
      if (path.resolve(String(target)) === path.resolve(data)) folders.add(fd);
      return fd;
    }) as typeof fs.openSync);
    jest.spyOn(fs, 'fsyncSync').mockImplementation((fd: number) => {
      if (folders.has(fd)) throw errnoError('EIO', 'i/o error, fsync');
      realFsync(fd);
    });
    try {
      expect(() => restoreDatabase(data, backup, Date.now())).toThrow(/EIO/);
      expect(folders.size).toBe(1);
    } finally {
      jest.restoreAllMocks();
    }
  });
});

/** A data dir holding only `file` as its database (to open a kept database with the CLI). */
function tempDirWith(file: string): string {
  const dir = tempDir('hd-kept-');
  writeFileSync(path.join(dir, 'helpdesk.sqlite'), readFileSync(file));
  if (existsSync(`${file}-wal`)) writeFileSync(path.join(dir, 'helpdesk.sqlite-wal'), readFileSync(`${file}-wal`));
  return dir;
}
