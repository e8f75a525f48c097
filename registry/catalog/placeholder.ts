// The "<fill in: …>" values `mcpfleet registry add` writes where only a person can decide
// (which Kubernetes Secret holds a token, which directory a server may read). The check
// refuses them with a message saying so, rather than deploying the placeholder as a value
// or reporting it as a malformed Secret name.

const PREFIX = '<fill in';

/** A placeholder for a person to replace, e.g. `<fill in: Kubernetes Secret name>`. */
export function placeholder(what: string): string {
  return `${PREFIX}: ${what}>`;
}

export function isPlaceholder(value: string): boolean {
  return value.startsWith(PREFIX);
}

const LEFT_BY = 'is a placeholder left by "mcpfleet registry add"';

/** The check's message for a placeholder still in place; `fix` says what to write instead. */
export function placeholderMessage(value: unknown, fix: string): string {
  return `${JSON.stringify(value)} ${LEFT_BY}: ${fix}`;
}

/** Whether a problem's message is the one above (left to fill, not wrong). */
export function isPlaceholderMessage(message: string): boolean {
  return message.includes(LEFT_BY);
}
