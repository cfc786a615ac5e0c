import { MAX_HTML_DEPTH, MAX_STRAY_CLOSING_TAGS, flattenHtml, htmlShape, tooTangled } from '../../src/pipeline/html-shape';

describe('htmlShape', () => {
  it('counts nesting by open elements, not void or self-closing ones, and closing tags that close nothing', () => {
    expect(htmlShape('<div><p>a<br><img src=x><span/></p></div>')).toEqual({ depth: 2, strayClosingTags: 0 });
    expect(htmlShape('<div></x></div></div>')).toEqual({ depth: 1, strayClosingTags: 2 });
    expect(htmlShape('text < 3 and 5 > 4 <')).toEqual({ depth: 0, strayClosingTags: 0 });
  });

  it('calls tangled what is nested deeper than the limit or closes more than the limit of nothing', () => {
    expect(tooTangled('<div>'.repeat(MAX_HTML_DEPTH))).toBe(false);
    expect(tooTangled('<div>'.repeat(MAX_HTML_DEPTH + 1))).toBe(true);
    expect(tooTangled('</x>'.repeat(MAX_STRAY_CLOSING_TAGS))).toBe(false);
    expect(tooTangled('</x>'.repeat(MAX_STRAY_CLOSING_TAGS + 1))).toBe(true);
  });

  it('scans a megabyte of unterminated tags (the input a backtracking regex chokes on) and finds none', () => {
    expect(htmlShape('<a'.repeat(500_000))).toEqual({ depth: 0, strayClosingTags: 0 });
    expect(flattenHtml('<a'.repeat(10))).toBe('<a'.repeat(10));
  });
});

describe('flattenHtml', () => {
  it('drops tags, decodes entities and folds blanks', () => {
    expect(flattenHtml('<div><p>Printer &amp; <b>scanner</b></p>\n\n  <p>down&nbsp;again</p></div>')).toBe('Printer & scanner\ndown\u00a0again');
  });
});
