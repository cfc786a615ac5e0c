import RE2 from 're2-engine';

/**
 * Regular expressions written by admins (rules.yaml), run by RE2: the time they take grows
 * linearly with the text whatever the pattern, so no message can make a rule hang the desk
 * (issue #17: `(.*a){20}$` on a 30-byte body spun for good under V8's backtracking engine).
 * RE2 has no backreferences and no lookaround; such a pattern is refused when the config is
 * loaded, with where and why.
 *
 * The package is installed as `re2-engine` (an npm alias of `re2`): email-reply-parser
 * declares an optional peer dependency on a `re2` that needs Node.js 22, and would switch its
 * own engine if it found one under that name.
 */
export type LinearRegex = RegExp;

/** Compiles a rule pattern (case-insensitive, Unicode); throws the RE2 error when it cannot. */
export function linearRegex(pattern: string): LinearRegex {
  return new RE2(pattern, 'iu');
}

/** Why a rule pattern cannot be used, with the column where the problem starts, or null. */
export function linearRegexProblem(pattern: string): string | null {
  try {
    linearRegex(pattern);
    return null;
  } catch (err) {
    const message = (err as Error).message;
    // RE2 names the offending part after the last ": " (`invalid escape sequence: \1`).
    const part = message.slice(message.lastIndexOf(': ') + 2);
    const at = part ? pattern.indexOf(part) : -1;
    return `regular expression not supported at column ${at >= 0 ? at + 1 : '?'}: ${message}${/escape sequence: \\\d|perl operator: \(\?<?[=!]/.test(message) ? ' (backreferences and lookaround cannot run in linear time)' : ''}`;
  }
}
