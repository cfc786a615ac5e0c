import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A private, throw-away Dovecot (IMAP + LMTP) for integration tests, as described in
 * ../shared/dovecot-harness.md: its own config in a temp dir, free loopback ports, a static
 * passdb that accepts any `*@dyn.example.test` user with password `test` (a fresh mailbox per
 * test), one fixed user with a wrong-password check, optional TLS with a self-signed cert.
 */
export interface Dovecot {
  dir: string;
  host: string;
  imapPort: number;
  /** Implicit-TLS port (0 without tls). */
  imapsPort: number;
  lmtpPort: number;
  /** PEM of the self-signed certificate (when started with tls). */
  certFile: string | null;
  stop(): Promise<void>;
  /** Stops and starts again on the same ports and state. */
  restart(): Promise<void>;
}

export const DYN_DOMAIN = 'dyn.example.test';
export const DYN_PASSWORD = 'test';
const DOVECOT = process.env.DOVECOT_BIN ?? '/usr/sbin/dovecot';

/**
 * `oauth2Introspection`: URL of a token introspection endpoint (RFC 7662, POST); enables the
 * XOAUTH2 and OAUTHBEARER mechanisms for user `oauth@example.test`.
 */
export async function startDovecot(options: { tls?: boolean; oauth2Introspection?: string } = {}): Promise<Dovecot> {
  if (!existsSync(DOVECOT)) {
    throw new Error(`Dovecot not found at ${DOVECOT}: install it with 'apt-get install -y dovecot-imapd dovecot-lmtpd' (.ci/run does)`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dvt-'));
  chmodSync(dir, 0o755);
  for (const sub of ['run', 'state', 'log', 'mail', 'tls']) mkdirSync(path.join(dir, sub));
  const root = process.getuid?.() === 0;
  if (root) chownSync(path.join(dir, 'mail'), 65534, 65534);
  const imapPort = await freePort();
  const lmtpPort = await freePort();
  const imapsPort = options.tls ? await freePort() : 0;
  let certFile: string | null = null;
  if (options.tls) {
    certFile = path.join(dir, 'tls', 'cert.pem');
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', path.join(dir, 'tls', 'key.pem'), '-out', certFile]);
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
  }
  writeFileSync(path.join(dir, 'users'), 'support@example.test:{PLAIN}secret::::::\n');
  const uid = root ? 65534 : (process.getuid?.() ?? 1000);
  const gid = root ? 65534 : (process.getgid?.() ?? 1000);
  const user = root ? null : os.userInfo().username;
  const conf = `
instance_name = dvt-${path.basename(dir)}
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/log/dovecot.log
auth_verbose = yes
protocols = imap lmtp
listen = 127.0.0.1
${user ? `default_login_user = ${user}\ndefault_internal_user = ${user}\ndefault_internal_group = ${user}` : 'default_login_user = dovenull\ndefault_internal_user = dovecot\ndefault_internal_group = dovecot'}
disable_plaintext_auth = no
auth_mechanisms = plain login${options.oauth2Introspection ? ' xoauth2 oauthbearer' : ''}
${options.oauth2Introspection ? `passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = ${dir}/oauth2.conf
}
` : ''}passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
passdb {
  driver = static
  args = password=${DYN_PASSWORD}
  username_filter = *@${DYN_DOMAIN}
}
userdb {
  driver = static
  args = uid=${uid} gid=${gid} home=${dir}/mail/%d/%n
}
mail_location = maildir:~/Maildir
mail_fsync = never
namespace inbox {
  inbox = yes
  separator = /
  mailbox Junk {
    special_use = \\Junk
  }
}
protocol imap {
  mail_max_userip_connections = 200
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${imapPort}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${imapsPort}
    ssl = ${options.tls ? 'yes' : 'no'}
  }
${user ? '  chroot =\n' : ''}}
${user ? 'service anvil {\n  chroot =\n}\n' : ''}service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${lmtpPort}
  }
}
protocol lmtp {
  auth_username_format = %Lu
}
${options.tls ? `ssl = yes\nssl_cert = <${certFile}\nssl_key = <${dir}/tls/key.pem` : 'ssl = no'}
`;
  writeFileSync(path.join(dir, 'dovecot.conf'), conf);
  if (options.oauth2Introspection) {
    writeFileSync(
      path.join(dir, 'oauth2.conf'),
      `introspection_mode = post\nintrospection_url = ${options.oauth2Introspection}\nusername_attribute = username\nactive_attribute = active\nactive_value = true\nforce_introspection = yes\n`,
    );
  }

  let child: ChildProcess | null = null;
  const launch = async () => {
    child = spawn('setpriv', ['--pdeathsig', 'TERM', '--', DOVECOT, '-F', '-c', path.join(dir, 'dovecot.conf')], { detached: true, stdio: 'ignore' });
    await waitForGreeting(imapPort, 10_000);
  };
  const halt = async () => {
    const c = child as ChildProcess | null;
    if (!c || c.exitCode !== null || c.pid === undefined) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    try {
      process.kill(-c.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-(c.pid as number), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, 1500);
    await exited;
    clearTimeout(timer);
    child = null;
  };
  await launch();
  return {
    dir,
    host: '127.0.0.1',
    imapPort,
    imapsPort,
    lmtpPort,
    certFile,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await halt();
      await launch();
    },
  };
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForGreeting(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('* OK'));
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`Dovecot did not greet on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A fresh, empty mailbox address for one test. */
export function dynUser(label = 'support'): string {
  return `${label}-${Math.random().toString(36).slice(2, 10)}@${DYN_DOMAIN}`;
}
