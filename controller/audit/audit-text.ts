// Text from callers (a tool name, a token's subject) goes into the audit log as it came, but
// bounded, and without NUL: PostgreSQL refuses a text value with one, and that one record
// would fail its whole batch, again at every retry.
const MAX_CHARS = 256;

export function auditText(text: string): string {
  const clean = text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
  return clean.length > MAX_CHARS ? `${clean.slice(0, MAX_CHARS - 1)}…` : clean;
}
