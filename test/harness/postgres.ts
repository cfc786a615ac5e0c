import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from './dovecot';

/**
 * A private, throw-away PostgreSQL for integration tests: `initdb` in a temp folder, the
 * server on a free loopback port with trust authentication, stopped and deleted after the
 * tests. Debian's `postgresql` package provides the binaries (.ci/run installs it); PG_BIN
 * names another folder holding `initdb` and `postgres`.
 *
 * Durability settings are off (fsync, synchronous_commit): the tests kill daemons, never this
 * server, and a cluster is created per test file.
 */
export interface Postgres {
  /** postgres://helpdesk@127.0.0.1:PORT/helpdesk */
  url: string;
  port: number;
  /** A new, empty database; its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

const USER = 'helpdesk';

function binDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error("PostgreSQL not found under /usr/lib/postgresql: install it with 'apt-get install -y postgresql' (.ci/run does), or set PG_BIN");
  return path.join(root, newest, 'bin');
}

/** initdb and the server refuse to run as root: as root, they run as Debian's `postgres` user. */
function runAs(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Error("running as root and there is no 'postgres' user to run PostgreSQL as (Debian's postgresql package creates it)");
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** `settings`: more server settings (`-c name=value`), e.g. to load pg_stat_statements for a benchmark. */
export async function startPostgres(options: { settings?: Record<string, string> } = {}): Promise<Postgres> {
  const bin = binDir();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgt-'));
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'run');
  mkdirSync(socket);
  const as = runAs();
  if (as) {
    chownSync(dir, as.uid, as.gid);
    chownSync(socket, as.uid, as.gid);
  }
  const opts = { ...(as ?? {}), encoding: 'utf8' as const };
  const init = spawnSync(path.join(bin, 'initdb'), ['-D', data, '-U', USER, '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'], opts);
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout || init.error?.message}`);
  const port = await freePort();
  const args = ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', socket, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200', ...Object.entries(options.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const server: ChildProcess = spawn(path.join(bin, 'postgres'), args, { ...(as ?? {}), stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr?.on('data', (b: Buffer) => {
    log = (log + b.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const url = (db: string) => `postgres://${USER}@127.0.0.1:${port}/${db}`;
  await waitReady(url('postgres'), () => server.exitCode !== null, () => log);
  const admin = new Client({ connectionString: url('postgres') });
  await admin.connect();
  await admin.query(`create database ${USER}`);
  return {
    url: url(USER),
    port,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      await admin.query(`create database ${name}`);
      return url(name);
    },
    async stop() {
      await admin.end().catch(() => undefined);
      // SIGINT: PostgreSQL's fast shutdown (disconnects clients, no checkpoint wait).
      if (server.exitCode === null) server.kill('SIGINT');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitReady(url: string, dead: () => boolean, log: () => string): Promise<void> {
  const until = Date.now() + 20_000;
  for (;;) {
    if (dead()) throw new Error(`PostgreSQL exited at start: ${log()}`);
    const c = new Client({ connectionString: url });
    try {
      await c.connect();
      await c.query('select 1');
      await c.end();
      return;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (Date.now() > until) throw new Error(`PostgreSQL did not answer within 20 s: ${String(err)}\n${log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
