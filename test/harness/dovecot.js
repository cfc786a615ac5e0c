"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.DYN_PASSWORD = exports.DYN_DOMAIN = void 0;
exports.startDovecot = startDovecot;
exports.freePort = freePort;
exports.dynUser = dynUser;
const node_child_process_1 = require("node:child_process");
const node_fs_1 = require("node:fs");
const node_net_1 = __importDefault(require("node:net"));
const node_os_1 = __importDefault(require("node:os"));
const node_path_1 = __importDefault(require("node:path"));
exports.DYN_DOMAIN = 'dyn.example.test';
exports.DYN_PASSWORD = 'test';
const DOVECOT = process.env.DOVECOT_BIN ?? '/usr/sbin/dovecot';
/**
 * `oauth2Introspection`: URL of a token introspection endpoint (RFC 7662, POST); enables the
 * XOAUTH2 and OAUTHBEARER mechanisms for user `oauth@example.test`.
 */
async function startDovecot(options = {}) {
    if (!(0, node_fs_1.existsSync)(DOVECOT)) {
        throw new Error(`Dovecot not found at ${DOVECOT}: install it with 'apt-get install -y dovecot-imapd dovecot-lmtpd' (.ci/run does)`);
    }
    const dir = (0, node_fs_1.mkdtempSync)(node_path_1.default.join(node_os_1.default.tmpdir(), 'dvt-'));
    (0, node_fs_1.chmodSync)(dir, 0o755);
    for (const sub of ['run', 'state', 'log', 'mail', 'tls'])
        (0, node_fs_1.mkdirSync)(node_path_1.default.join(dir, sub));
    const root = process.getuid?.() === 0;
    if (root)
        (0, node_fs_1.chownSync)(node_path_1.default.join(dir, 'mail'), 65534, 65534);
    const imapPort = await freePort();
    const lmtpPort = await freePort();
    const imapsPort = options.tls ? await freePort() : 0;
    let certFile = null;
    if (options.tls) {
        certFile = node_path_1.default.join(dir, 'tls', 'cert.pem');
        const r = (0, node_child_process_1.spawnSync)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', node_path_1.default.join(dir, 'tls', 'key.pem'), '-out', certFile]);
        if (r.status !== 0)
            throw new Error(`openssl failed: ${r.stderr.toString()}`);
    }
    (0, node_fs_1.writeFileSync)(node_path_1.default.join(dir, 'users'), 'support@example.test:{PLAIN}secret::::::\n');
    const uid = root ? 65534 : (process.getuid?.() ?? 1000);
    const gid = root ? 65534 : (process.getgid?.() ?? 1000);
    const user = root ? null : node_os_1.default.userInfo().username;
    const conf = `
instance_name = dvt-${node_path_1.default.basename(dir)}
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
  args = password=${exports.DYN_PASSWORD}
  username_filter = *@${exports.DYN_DOMAIN}
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
    (0, node_fs_1.writeFileSync)(node_path_1.default.join(dir, 'dovecot.conf'), conf);
    if (options.oauth2Introspection) {
        (0, node_fs_1.writeFileSync)(node_path_1.default.join(dir, 'oauth2.conf'), `introspection_mode = post\nintrospection_url = ${options.oauth2Introspection}\nusername_attribute = username\nactive_attribute = active\nactive_value = true\nforce_introspection = yes\n`);
    }
    let child = null;
    const launch = async () => {
        child = (0, node_child_process_1.spawn)('setpriv', ['--pdeathsig', 'TERM', '--', DOVECOT, '-F', '-c', node_path_1.default.join(dir, 'dovecot.conf')], { detached: true, stdio: 'ignore' });
        await waitForGreeting(imapPort, 10_000);
    };
    const halt = async () => {
        const c = child;
        if (!c || c.exitCode !== null || c.pid === undefined)
            return;
        const exited = new Promise((resolve) => c.once('exit', () => resolve()));
        try {
            process.kill(-c.pid, 'SIGTERM');
        }
        catch {
            return;
        }
        const timer = setTimeout(() => {
            try {
                process.kill(-c.pid, 'SIGKILL');
            }
            catch {
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
            (0, node_fs_1.rmSync)(dir, { recursive: true, force: true });
        },
        async restart() {
            await halt();
            await launch();
        },
    };
}
/** A free TCP port on 127.0.0.1. */
function freePort() {
    return new Promise((resolve, reject) => {
        const srv = node_net_1.default.createServer();
        srv.unref();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}
async function waitForGreeting(port, timeoutMs) {
    const until = Date.now() + timeoutMs;
    for (;;) {
        const ok = await new Promise((resolve) => {
            const s = node_net_1.default.connect(port, '127.0.0.1');
            s.once('data', (d) => {
                s.destroy();
                resolve(d.toString().startsWith('* OK'));
            });
            s.once('error', () => resolve(false));
        });
        if (ok)
            return;
        if (Date.now() > until)
            throw new Error(`Dovecot did not greet on port ${port} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
    }
}
/** A fresh, empty mailbox address for one test. */
function dynUser(label = 'support') {
    return `${label}-${Math.random().toString(36).slice(2, 10)}@${exports.DYN_DOMAIN}`;
}
//# sourceMappingURL=dovecot.js.map