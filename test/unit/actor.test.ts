import { checkTrust, parseAuthResults } from '../../src/pipeline/stages/actor';

const trust = { mode: 'authentication-results' as const, authservId: 'mx.example.test' };
const ar = (value: string) => [{ name: 'authentication-results', value }];

describe('parseAuthResults', () => {
  it('reads the authserv-id, methods, results and properties, ignoring comments', () => {
    const r = parseAuthResults('mx.example.test (Postfix); dkim=pass (2048-bit key) header.d=Example.test header.s=s1; spf=fail smtp.mailfrom=x@y; dmarc=pass header.from=example.test');
    expect(r.authservId).toBe('mx.example.test');
    expect(r.results).toEqual([
      { method: 'dkim', result: 'pass', props: { 'header.d': 'example.test', 'header.s': 's1' } },
      { method: 'spf', result: 'fail', props: { 'smtp.mailfrom': 'x@y' } },
      { method: 'dmarc', result: 'pass', props: { 'header.from': 'example.test' } },
    ]);
  });
});

describe('checkTrust', () => {
  it('trusts the From header in from-header mode', () => {
    expect(checkTrust({ mode: 'from-header' }, [], 'ana@example.test').trusted).toBe(true);
  });
  it('trusts dkim=pass aligned to the agent domain from our server', () => {
    expect(checkTrust(trust, ar('mx.example.test; dkim=pass header.d=example.test'), 'ana@example.test')).toMatchObject({ trusted: true });
  });
  it('trusts dmarc=pass for the agent domain', () => {
    expect(checkTrust(trust, ar('mx.example.test; dmarc=pass header.from=example.test'), 'ana@example.test').trusted).toBe(true);
  });
  it('refuses results from another server', () => {
    expect(checkTrust(trust, ar('evil.test; dkim=pass header.d=example.test'), 'ana@example.test')).toMatchObject({ trusted: false, reason: 'no Authentication-Results from mx.example.test' });
  });
  it('refuses a pass for another domain', () => {
    expect(checkTrust(trust, ar('mx.example.test; dkim=pass header.d=evil.test'), 'ana@example.test').trusted).toBe(false);
  });
  it('refuses dkim=fail', () => {
    expect(checkTrust(trust, ar('mx.example.test; dkim=fail header.d=example.test'), 'ana@example.test').trusted).toBe(false);
  });
  it('only believes the topmost header of our server (a forged lower one does not count)', () => {
    const headers = [...ar('mx.example.test; dkim=none'), ...ar('mx.example.test; dkim=pass header.d=example.test')];
    expect(checkTrust(trust, headers, 'ana@example.test').trusted).toBe(false);
  });
});
