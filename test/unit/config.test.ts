import { linearRegex, linearRegexProblem } from '../../src/lib/linear-regex';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describeKey, jsonSchemas } from '../../src/config/json-schema';
import { ConfigError, loadConfig } from '../../src/config/load';
import { readmeKeyDescriptions } from '../../src/config/schema-descriptions';
import { removeTempDirs, writeConfigDir } from '../helpers/env';

afterAll(() => removeTempDirs());

function problems(files: Parameters<typeof writeConfigDir>[0], env: Record<string, string> = {}) {
  try {
    loadConfig(writeConfigDir(files), env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => ({ ...p, file: path.basename(p.file) }));
    throw err;
  }
  return [];
}

describe('config loading', () => {
  it('loads the shipped config with defaults filled in', () => {
    const c = loadConfig(path.resolve(__dirname, '../../config'), {});
    expect(c.helpdesk.ticketPrefix).toBe('HD');
    expect(c.mailboxes[0]).toMatchObject({ id: 'local', maildir: 'maildir' });
    expect(c.sla.critical).toBe(4 * 3600_000);
    expect(c.sla.low).toBe(52 * 3600_000);
    expect(c.limits.maxMessageSize).toBe(25 * 1024 * 1024);
  });

  it('names file, line and column of a wrong value, and what was expected', () => {
    expect(problems({ 'helpdesk.yaml': 'helpdesk:\n  address: support@example.test\n  ticketPrefix: hd\n' })).toEqual([
      { file: 'helpdesk.yaml', line: 3, column: 17, message: 'helpdesk.ticketPrefix: expected 1-10 capital letters or digits, starting with a letter' },
    ]);
  });

  it('names an unknown key where it is written', () => {
    expect(problems({ 'helpdesk.yaml': 'helpdesk:\n  address: support@example.test\n  adress: x\n' })[0]).toMatchObject({ line: 3, column: 3, message: "helpdesk: unknown key(s) 'adress'; did you mean address (for adress)?" });
  });

  it('suggests the key that was probably meant', () => {
    expect(problems({ 'helpdesk.yaml': 'helpdesk:\n  address: support@example.test\n  ticketPrefx: HD\n' })[0]).toMatchObject({ line: 3, message: "helpdesk: unknown key(s) 'ticketPrefx'; did you mean ticketPrefix (for ticketPrefx)?" });
    // Nothing close: no guess.
    expect(problems({ 'helpdesk.yaml': 'helpdesk:\n  address: support@example.test\n  frobnicate: 1\n' })[0].message).toBe("helpdesk: unknown key(s) 'frobnicate'");
  });

  it('says what was written where another type was expected', () => {
    const p = problems({ 'agents.yaml': 'agents:\n  - { name: Ana, email: ana@example.test, capacity: "lots" }\n' });
    expect(p[0]).toMatchObject({ file: 'agents.yaml', line: 2, message: 'agents.0.capacity: expected a number, got the text "lots"' });
  });

  it('points a missing required key at its parent', () => {
    expect(problems({ 'helpdesk.yaml': 'helpdesk:\n  name: x\n' })[0]).toMatchObject({ line: 2, column: 3, message: 'helpdesk.address: required, expected text' });
  });

  it('reports YAML syntax errors with their position', () => {
    expect(problems({ 'helpdesk.yaml': 'helpdesk: {\n' })[0]).toMatchObject({ file: 'helpdesk.yaml', line: expect.any(Number) });
  });

  it('substitutes ${VAR} and reports a missing variable at its position', () => {
    const yaml = 'helpdesk: { address: support@example.test }\nmailboxes:\n  - id: a\n    imap: { host: h, user: u, pass: "${IMAP_PASSWORD}" }\n';
    expect(problems({ 'helpdesk.yaml': yaml })).toEqual([{ file: 'helpdesk.yaml', line: 4, column: 37, message: 'environment variable IMAP_PASSWORD is not set' }]);
    const dir = writeConfigDir({ 'helpdesk.yaml': yaml });
    expect(loadConfig(dir, { IMAP_PASSWORD: 's3cret' }).mailboxes[0].imap?.pass).toBe('s3cret');
  });

  it('collects problems from several files at once', () => {
    const found = problems({ 'helpdesk.yaml': 'helpdesk: { address: nope }\n', 'agents.yaml': 'agents:\n  - { name: Ana }\n' });
    expect(found.map((p) => p.file).sort()).toEqual(['agents.yaml', 'helpdesk.yaml']);
  });

  it('requires helpdesk.yaml but not agents.yaml or rules.yaml', () => {
    const dir = writeConfigDir();
    writeFileSync(path.join(dir, 'rules.yaml'), '');
    expect(() => loadConfig(dir, {})).not.toThrow();
  });

  it('refuses an IMAP mailbox that gives one folder two roles (a loop, or every ticket taken for a staff move to junk)', () => {
    const mailbox = (extra: string) => ({ 'helpdesk.yaml': `helpdesk: { address: s@x.test }\nmailboxes:\n  - { id: a, imap: { host: h, user: u, pass: p }, ${extra} }\n` });
    expect(problems(mailbox('folders: { junk: Archive, processed: Archive }'))).toEqual([
      { file: 'helpdesk.yaml', line: 3, column: expect.any(Number), message: 'mailboxes.0.folders.junk: "Archive" is folders.processed too; each role needs a folder of its own' },
    ]);
    expect(problems(mailbox('folders: { processed: inbox }'))[0].message).toBe('mailboxes.0.folders.processed: "inbox" is folders.inbox too; each role needs a folder of its own');
    // With ack: flag the processed folder is not used; a Maildir mailbox has no folders.
    expect(problems(mailbox('ack: flag, folders: { processed: INBOX }'))).toEqual([]);
    expect(problems({ 'helpdesk.yaml': 'helpdesk: { address: s@x.test }\nmailboxes:\n  - { id: a, maildir: m, folders: { junk: INBOX } }\n' })).toEqual([]);
  });

  it('refuses a mailbox with both imap and maildir', () => {
    expect(problems({ 'helpdesk.yaml': 'helpdesk: { address: s@x.test }\nmailboxes:\n  - { id: a, maildir: m, imap: { host: h, user: u, pass: p } }\n' })[0].message).toMatch(/exactly one of `imap` or `maildir`/);
  });
});

describe('config errors across files name file, line and column', () => {
  it('a typo in a rule key', () => {
    expect(problems({ 'rules.yaml': 'rules:\n  - name: x\n    when: { subjet: printer }\n    then: { priority: high }\n' })).toEqual([
      { file: 'rules.yaml', line: 3, column: 13, message: "rule 1 \"x\": when: unknown key(s) 'subjet'; did you mean subject (for subjet)?" },
    ]);
  });
  it('a typo inside nested conditions and text matches (schemas that are unions or recursive)', () => {
    expect(problems({ 'rules.yaml': 'rules:\n  - name: x\n    when: { any: [ { bdy: printer } ] }\n    then: {}\n' })[0].message).toBe("rule 1 \"x\": when.any.0: unknown key(s) 'bdy'; did you mean body (for bdy)?");
    expect(problems({ 'rules.yaml': 'rules:\n  - name: x\n    when: { subject: { anyy: [a] } }\n    then: {}\n' })[0].message).toBe("rule 1 \"x\": when.subject: unknown key(s) 'anyy'; did you mean any (for anyy)?");
  });
  it('a strategy that does not exist: the allowed ones, at the strategy', () => {
    expect(problems({ 'rules.yaml': 'rules:\n  - name: x\n    then: { assign: { group: software, strategy: fastest } }\n' })).toEqual([
      { file: 'rules.yaml', line: 3, column: 50, message: 'rule 1 "x": then.assign.strategy: expected one of round_robin, least_open, random, got the text "fastest"' },
    ]);
    expect(problems({ 'rules.yaml': 'rules:\n  - name: x\n    then: { assign: { group: software, strategy: least_opne } }\n' })[0].message).toMatch(/did you mean least_open\?$/);
    // Neither {agent} nor {group, strategy}: the unknown key, not "agent: required".
    expect(problems({ 'rules.yaml': 'rules:\n  - name: x\n    then: { assign: { grup: software } }\n' })).toEqual([
      { file: 'rules.yaml', line: 3, column: 23, message: "rule 1 \"x\": then.assign: unknown key(s) 'grup'; did you mean group (for grup)?" },
    ]);
  });
  it('a YAML syntax error is one sentence at the bracket or quote that was not closed', () => {
    expect(problems({ 'helpdesk.yaml': 'helpdesk:\n  address: support@example.test\n  locale: [en\n  ticketPrefix: HD\n' })).toEqual([
      { file: 'helpdesk.yaml', line: 3, column: 11, message: expect.stringMatching(/^this list opened with \[ is not closed: end it with \]/) },
    ]);
    expect(problems({ 'helpdesk.yaml': 'helpdesk:\n  address: "support@example.test\n  ticketPrefix: HD\n' })).toEqual([
      { file: 'helpdesk.yaml', line: 2, column: 12, message: 'this text opened with " is not closed: end it with "' },
    ]);
  });
  it('a wrong type', () => {
    expect(problems({ 'rules.yaml': 'rules:\n  - name: x\n    then: { priority: urgent }\n' })[0]).toMatchObject({ file: 'rules.yaml', line: 3, column: 23 });
  });
  it('an unknown agent in a rule', () => {
    expect(problems({ 'rules.yaml': 'rules:\n  - name: x\n    then: { assign: { agent: nobody@example.test } }\n' })).toEqual([
      { file: 'rules.yaml', line: 3, column: 30, message: 'rule 1 "x": then.assign.agent: unknown agent nobody@example.test (agents: ana@example.test)' },
    ]);
  });
  it('an unknown group in a rule', () => {
    expect(problems({ 'rules.yaml': 'rules:\n  - name: x\n    then: { assign: { group: printers } }\n' })[0].message).toBe('rule 1 "x": then.assign.group: unknown group printers (groups: software)');
  });
  it('a duplicate agent address', () => {
    const agents = 'agents:\n  - { name: Ana, email: ana@example.test }\n  - { name: Ana2, email: ANA@example.test }\n';
    expect(problems({ 'agents.yaml': agents })).toEqual([{ file: 'agents.yaml', line: 3, column: 26, message: 'agents.1.email: ana@example.test is already the address of agent Ana' }]);
  });
  it('an invalid regex, and one RE2 cannot run in linear time', () => {
    const found = problems({ 'rules.yaml': 'rules:\n  - name: x\n    when: { subject: { regex: "(unclosed" } }\n    then: {}\n  - name: y\n    when: { any: [ { body: { regex: "(a)\\\\1" } } ] }\n    then: {}\n' });
    expect(found).toEqual([
      { file: 'rules.yaml', line: 3, column: 31, message: expect.stringMatching(/^rule 1 "x": when\.subject\.regex: regular expression not supported at column 1: missing \)/) },
      { file: 'rules.yaml', line: 6, column: 37, message: expect.stringMatching(/^rule 2 "y": when\.any\.0\.body\.regex: regular expression not supported at column 4: invalid escape sequence: \\1/) },
    ]);
  });
  it('a group member who is not an agent', () => {
    expect(problems({ 'agents.yaml': 'agents: []\ngroups:\n  - { name: g, members: [x@example.test] }\n' })[0]).toMatchObject({ line: 3, message: expect.stringMatching(/x@example.test is not an agent/) });
  });
});

describe('linearRegexProblem', () => {
  it.each([
    ['^\\[HD-\\d+\\]', null],
    ['(foo|bar)baz', null],
    // Shapes that hang a backtracking engine are fine on RE2.
    ['(a+)+$', null],
    ['(.*a){20}$', null],
    ['.*.*.*.*=', null],
    ['caf[eé]\\p{L}*', null],
    ['(a)\\1', 'column 4: invalid escape sequence: \\1 (backreferences and lookaround'],
    ['x(?<=y)', 'column 2: invalid perl operator: (?<= (backreferences and lookaround'],
    ['(?!a)b', 'column 1: invalid perl operator: (?! (backreferences'],
    ['(unclosed', 'column 1: missing ): (unclosed'],
  ])('%s', (pattern, problem) => {
    const p = linearRegexProblem(pattern);
    if (problem === null) expect(p).toBeNull();
    else expect(p).toContain(problem);
  });
});

describe('rule regexes at message time', () => {
  // Issue #17: these spun at 100% CPU under V8 on a 30-byte body, and again after a restart.
  // A backtracking engine does not return here at all; no timing is asserted.
  it.each(['(.*a){20}$', '.*.*.*.*='])('%s on a hostile body returns', (pattern) => {
    expect(linearRegex(pattern).test(`${'a'.repeat(30)}!`)).toBe(false);
    expect(linearRegex(pattern).test(`${'a'.repeat(100_000)}!`)).toBe(false);
  });
});

describe('JSON Schema descriptions', () => {
  it('come from README’s table of helpdesk.yaml keys, one per key, with its default', () => {
    const d = readmeKeyDescriptions(readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8'));
    expect(d.get('sla.low')).toMatch(/^resolution targets: .* Default: 52h\.$/);
    expect(d.get('spam.spamCutoff')).toMatch(/Default: 0\.99\.$/);
    expect(d.get('mailboxes[].ack')).toMatch(/^move \(to folders\.processed\)/);
    const schemas = jsonSchemas() as Record<string, { properties: Record<string, { properties?: Record<string, { description?: string; pattern?: string }> }> }>;
    const helpdesk = schemas['helpdesk.schema.json'].properties;
    expect(helpdesk.notifications.properties?.ackRateLimit.description).toContain('acknowledgements to one sender per window');
    // Durations carry their pattern, so an editor flags "2 days".
    expect(helpdesk.sla.properties?.critical.pattern).toBe('^(\\d+(\\.\\d+)?[smhdw])+$');
  });
  it('a key the README documents but the schema lacks stops the generation (the docs drifted)', () => {
    const table = '`config/helpdesk.yaml`\n\n| key | default | meaning |\n| --- | --- | --- |\n| `helpdesk.nonsense` | `1` | x |\n';
    expect(readmeKeyDescriptions(table).get('helpdesk.nonsense')).toBe('x. Default: 1.');
    const schema = { properties: { helpdesk: { properties: { name: {} } } } };
    expect(() => describeKey(schema, 'helpdesk.nonsense', 'x', 'helpdesk.yaml')).toThrow('helpdesk.yaml: the documentation describes helpdesk.nonsense, which the schema does not have');
    describeKey(schema, 'helpdesk.name', 'display name', 'helpdesk.yaml');
    expect(schema.properties.helpdesk.properties.name).toEqual({ description: 'display name' });
  });
});
