/**
 * Old clients (Outlook 2000, Eudora, Exchange) send attachments uuencoded inside the text
 * body (`begin 644 name` ... `end`). mailparser leaves them in the text; we cut them out and
 * return them as attachments, so the ticket shows the text and the files separately.
 */
export function extractUuencoded(text: string): { text: string; files: { name: string; content: Buffer }[] } {
  const files: { name: string; content: Buffer }[] = [];
  const block = /^begin [0-7]{3,4} ([^\r\n]+)\r?\n([\s\S]*?)^end[ \t]*$/gm;
  const rest = text.replace(block, (whole, name: string, body: string) => {
    const content = uudecode(body);
    if (content === null || content.length === 0) return whole;
    files.push({ name: name.trim(), content });
    return '';
  });
  return files.length === 0 ? { text, files } : { text: rest.replace(/\n{3,}/g, '\n\n'), files };
}

function uudecode(body: string): Buffer | null {
  const out: number[] = [];
  for (const line of body.split(/\r?\n/)) {
    if (line === '' || line === '`') continue;
    const len = (line.charCodeAt(0) - 32) & 0x3f;
    if (len === 0) continue;
    const chars = line.slice(1);
    const need = Math.ceil(len / 3) * 4;
    if (chars.length < need - 1) return null; // not uuencode after all
    const bytes: number[] = [];
    for (let i = 0; i < need; i += 4) {
      const c = [0, 1, 2, 3].map((k) => ((chars.charCodeAt(i + k) || 32) - 32) & 0x3f);
      bytes.push((c[0] << 2) | (c[1] >> 4), ((c[1] & 0xf) << 4) | (c[2] >> 2), ((c[2] & 0x3) << 6) | c[3]);
    }
    out.push(...bytes.slice(0, len));
  }
  return Buffer.from(out);
}
