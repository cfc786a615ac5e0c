/**
 * Characters a terminal acts on instead of showing: C0 controls but tab and newline (ESC
 * starts escape sequences that clear the screen or set the window title; CR overwrites the
 * line), DEL, C1 controls (U+009B is CSI on some terminals), and the bidi controls that make
 * `invoice\u202Efdp.exe` show as a .pdf (issue #17).
 */
const BIDI = '\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069';
const UNSAFE = new RegExp(`[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f${BIDI}]`, 'g');

/** Bidi controls alone (for names that must stay plain text, such as attachment file names). */
export const BIDI_CONTROLS = new RegExp(`[${BIDI}]`, 'g');

/**
 * Text with every character a terminal would act on written as a visible `\uXXXX`. The same
 * escape is valid inside a JSON string, and raw controls only occur inside strings there, so
 * it serves text and `--json` output alike.
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
