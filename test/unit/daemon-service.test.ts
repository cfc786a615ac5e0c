import { readFileSync } from 'node:fs';
import path from 'node:path';

const unit = readFileSync(path.resolve(__dirname, '../../daemon.service'), 'utf8');
const directives = new Map(
  unit
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]),
);

describe('daemon.service', () => {
  it('runs `helpdesk start` from the built CLI as its own user', () => {
    expect(directives.get('ExecStart')).toMatch(/\/dist\/cli\/index\.js start$/);
    expect(directives.get('User')).toBe('helpdesk');
  });
  it('restarts on failure, but not on a config error (exit 78)', () => {
    expect(directives.get('Restart')).toBe('on-failure');
    expect(directives.get('RestartPreventExitStatus')).toBe('78');
  });
  it('is hardened, with only the data directory writable', () => {
    for (const [key, value] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['PrivateTmp', 'yes'], ['ProtectHome', 'yes']]) {
      expect(directives.get(key)).toBe(value);
    }
    const dataDir = /^Environment=HELPDESK_DATA=(.+)$/m.exec(unit)?.[1];
    expect(dataDir).toBeTruthy();
    expect(directives.get('ReadWritePaths')).toBe(dataDir);
  });
});
