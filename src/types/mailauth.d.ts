// mailauth's tag-list parser for DKIM-Signature headers (RFC 6376 §3.2); the package ships no typings for it.
declare module 'mailauth/lib/parse-dkim-headers' {
  interface Tag {
    value: string | number;
  }
  function parseDkimHeaders(line: string): { parsed: Record<string, Tag | string | undefined> };
  export = parseDkimHeaders;
}
