// Text from callers (a tool name, a token's subject) goes into the audit log as it came, but
// bounded, and without what PostgreSQL refuses in text — NUL, and half of a UTF-16 surrogate
// pair (JSON.parse lets a client send one) — which would fail the record's whole batch, again at
// every retry. Each becomes U+FFFD.
const MAX_CHARS = 256;
// eslint-disable-next-line no-control-regex -- NUL is exactly what is looked for
const UNSAFE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function auditText(text: string): string {
  const clean = text.replace(UNSAFE, '\uFFFD');
  return clean.length > MAX_CHARS ? `${clean.slice(0, MAX_CHARS - 1)}…` : clean;
}
