/**
 * What a message's html says about how it was made, as spam tokens: the tags it uses and the
 * presentation attributes on them (`html:font`, `html:body.bgcolor`, `html:color=#ff0000`).
 * Read from the html as sent, before the ticket's copy is sanitised: what a sanitiser drops
 * (`meta`, `style`, `body bgcolor`, `table border`) is much of what tells bulk mail from a
 * person's. Both the daemon's parse and the spam commands' quick reader take it from the raw
 * html with this one function, so the model learns what the daemon sees.
 *
 * A scan for tags, not an html parser: the tokens need only names, and a regular expression
 * with no nesting runs in linear time on any input (a parser is what hostile html is shaped to
 * make slow, html-shape.ts), over at most MAX_HTML characters.
 */
const MAX_HTML = 200_000;
const TAG = /<([a-zA-Z][a-zA-Z0-9]{0,15})(\s[^<>]{0,2000})?>/g;
const ATTRIBUTE = /([a-zA-Z-]{1,30})\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)/g;
/** Attributes whose presence says how the mail was laid out. */
const LAYOUT = new Set(['bgcolor', 'color', 'size', 'face', 'border', 'align', 'valign', 'width', 'height', 'cellpadding', 'cellspacing', 'background']);
/** Attributes whose value is telling too (a colour, a font). */
const VALUED = new Set(['bgcolor', 'color', 'size', 'face']);
const MAX_TOKENS = 300;

export function markupTokens(html: string | null): string[] {
  if (!html) return [];
  const out = new Set<string>();
  const text = html.slice(0, MAX_HTML);
  for (const m of text.matchAll(TAG)) {
    const tag = m[1].toLowerCase();
    out.add(`html:${tag}`);
    for (const a of (m[2] ?? '').matchAll(ATTRIBUTE)) {
      const name = a[1].toLowerCase();
      if (!LAYOUT.has(name)) continue;
      out.add(`html:${tag}.${name}`);
      if (VALUED.has(name)) {
        const value = a[2].replace(/^["']|["']$/g, '').trim().toLowerCase();
        // No control characters: a token is text every store keeps (PostgreSQL refuses U+0000).
        if (value.length > 0 && value.length <= 24 && ![...value].some((c) => c < ' ')) out.add(`html:${name}=${value}`);
      }
    }
    if (out.size >= MAX_TOKENS) break;
  }
  return [...out];
}
