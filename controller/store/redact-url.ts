// Connection URLs appear in error messages and logs; their passwords must not.

/** The URL with any password replaced by ***; unparseable input is returned as-is. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
