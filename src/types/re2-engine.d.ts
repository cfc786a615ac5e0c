// The `re2` package installed under the alias `re2-engine` (package.json says why); its own
// typings declare the module by its original name, so the part we use is declared here.
declare module 're2-engine' {
  /** A regular expression run by Google's RE2: linear in the input, no backtracking. */
  class RE2 extends RegExp {
    constructor(pattern: string | RegExp, flags?: string);
  }
  export = RE2;
}
