/**
 * Jest runs CommonJS; email-reply-parser and email-forward-parser ship ES modules only (Node
 * 20.19+ `require`s them natively, jest's module loader does not). This transpiles them to
 * CommonJS for the tests, dropping their `createRequire(import.meta.url)` line: CommonJS
 * already has `require`.
 */
const ts = require('typescript');

module.exports = {
  process(source, filename) {
    const code = source
      .replace(/^\s*import\s*\{\s*createRequire\s*\}\s*from\s*["']module["'];?\s*$/m, '')
      .replace(/^\s*const require = createRequire\(import\.meta\.url\);?\s*$/m, '');
    const out = ts.transpileModule(code, { fileName: filename, compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } });
    return { code: out.outputText };
  },
};
