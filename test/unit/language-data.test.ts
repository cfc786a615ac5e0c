import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { eldData, eldDir, writeEldData } from '../../src/pipeline/language-data';
import { removeTempDirs, tempDir } from '../helpers/env';

afterAll(removeTempDirs);

describe("eld's n-gram set as JSON", () => {
  it('is written as exactly the set eld ships, and read only while it is whole and from the installed eld', () => {
    const dir = eldDir();
    const file = path.join(tempDir('hd-eld-'), 'eld-small.json');
    const shipped = JSON.stringify(eldData(dir, path.join(path.dirname(file), 'absent.json')));
    writeEldData(file);
    const written = JSON.parse(readFileSync(file, 'utf8')) as { eld: string; ngrams: unknown };
    expect(JSON.stringify(written.ngrams) === shipped).toBe(true);

    writeFileSync(file, JSON.stringify({ eld: written.eld, ngrams: { type: 'marker' } }));
    expect(eldData(dir, file)).toEqual({ type: 'marker' });
    writeFileSync(file, JSON.stringify({ eld: '0.0.1', ngrams: { type: 'marker' } }));
    expect(JSON.stringify(eldData(dir, file)) === shipped).toBe(true);
    writeFileSync(file, JSON.stringify({ eld: written.eld, ngrams: { type: 'marker' } }).slice(0, 20)); // cut short
    expect(JSON.stringify(eldData(dir, file)) === shipped).toBe(true);
  });
});
