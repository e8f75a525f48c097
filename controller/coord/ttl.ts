// TTL validation shared by both coordination backends: a lock or a route without a positive
// TTL would live forever, and Redis' PX takes whole milliseconds.

/** Returns the TTL as whole milliseconds (rounded up), or throws on a TTL that makes no sense. */
export function normalizeTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`ttlMs must be a positive number of milliseconds, got ${ttlMs}`);
  }
  return Math.ceil(ttlMs);
}
