import { decodeHTML } from 'entities';

/**
 * htmlparser2 (under sanitize-html and html-to-text) looks for the element a closing tag
 * closes by walking back through the open elements: every stray closing tag costs the
 * current depth, so `'<div>'.repeat(20000) + '</x>'.repeat(400000)` (1.7 MB) took 43 s, and
 * html-to-text overflows its stack on deep nesting. Mail that is nested this deep, or that
 * closes this many elements it never opened, is not something a person wrote: it is read as
 * plain text instead (tags removed in one linear pass), and never handed to the parser.
 * On the shared corpus (555 html mails) the deepest nesting is 265 (a spam) and the most
 * stray closing tags 21; at the limits, parsing costs at most 5 million steps of that walk.
 */
export const MAX_HTML_DEPTH = 1000;
export const MAX_STRAY_CLOSING_TAGS = 5000;

const VOID_ELEMENTS = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr', 'keygen']);

/** Each tag of `html` in order, found with indexOf only, so the scan is linear whatever the input. */
function* tags(html: string): Generator<{ start: number; end: number; name: string; closing: boolean; selfClosing: boolean }> {
  let from = 0;
  for (;;) {
    const lt = html.indexOf('<', from);
    if (lt < 0) return;
    const gt = html.indexOf('>', lt + 1);
    if (gt < 0) return; // no tag can end after this point
    const closing = html.charCodeAt(lt + 1) === 47; // '/'
    let k = closing ? lt + 2 : lt + 1;
    const nameStart = k;
    while (k < gt && /[A-Za-z0-9-]/.test(html[k])) k++;
    yield { start: lt, end: gt + 1, name: html.slice(nameStart, k).toLowerCase(), closing, selfClosing: html.charCodeAt(gt - 1) === 47 };
    from = gt + 1;
  }
}

/** How deep elements nest (closing tags matched by name, roughly as a parser would) and how many closing tags close nothing. */
export function htmlShape(html: string): { depth: number; strayClosingTags: number } {
  const open = new Map<string, number>();
  let depth = 0;
  let maxDepth = 0;
  let stray = 0;
  for (const tag of tags(html)) {
    if (tag.name === '') continue;
    if (tag.closing) {
      const n = open.get(tag.name) ?? 0;
      if (n === 0) stray++;
      else {
        open.set(tag.name, n - 1);
        depth--;
      }
    } else if (!VOID_ELEMENTS.has(tag.name) && !tag.selfClosing) {
      open.set(tag.name, (open.get(tag.name) ?? 0) + 1);
      maxDepth = Math.max(maxDepth, ++depth);
    }
  }
  return { depth: maxDepth, strayClosingTags: stray };
}

/** Whether `html` is shaped so that parsing it would take time growing faster than its length. */
export function tooTangled(html: string): boolean {
  const shape = htmlShape(html);
  return shape.depth > MAX_HTML_DEPTH || shape.strayClosingTags > MAX_STRAY_CLOSING_TAGS;
}

/** The text of `html` without parsing it: tags removed, entities decoded, runs of blanks folded. */
export function flattenHtml(html: string): string {
  const parts: string[] = [];
  let from = 0;
  for (const tag of tags(html)) {
    parts.push(html.slice(from, tag.start));
    from = tag.end;
  }
  parts.push(html.slice(from));
  return decodeHTML(parts.join(' '))
    .replace(/[ \t]+/g, ' ')
    .replace(/\s*\n\s*/g, '\n')
    .trim();
}
