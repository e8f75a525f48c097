// The messages between the controller and its embedded database process (Node IPC, with
// 'advanced' serialization so Date, BigInt and Uint8Array values cross unchanged).
// embedded-database.ts is the parent side, embedded-database-process.ts the child.

/** What the parent asks; sent with an id that the child's reply carries back. */
export type EmbeddedOp =
  | { op: 'query'; sql: string; params: unknown[] }
  | { op: 'exec'; sql: string }
  /** Closes PGlite (flushing to disk), answers, then the process exits. */
  | { op: 'close' };

/** Parent → child. The child answers each, one at a time, in the order received. */
export type EmbeddedRequest = EmbeddedOp & { id: number };

/** Child → parent, one per request. */
export type EmbeddedReply = { id: number; rows: unknown[] } | { id: number; error: WireError };

/** Child → parent, once, before any reply: the database is open, or it could not be. */
export type EmbeddedStartup = { type: 'ready' } | { type: 'failed'; message: string };

/** How the child runs: `init` creates a fresh data directory and exits, `serve` answers. */
export type EmbeddedMode = 'init' | 'serve';

/** A database error as plain data: an Error's own fields do not survive IPC. */
export interface WireError {
  message: string;
  [field: string]: string | undefined;
}

/** The PostgreSQL error fields kept across the process boundary (pg-protocol names). */
const DATABASE_ERROR_FIELDS = [
  'code',
  'severity',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'routine',
] as const;

export function toWireError(err: unknown): WireError {
  if (!(err instanceof Error)) return { message: String(err) };
  const wire: WireError = { message: err.message };
  const fields = err as unknown as Record<string, unknown>;
  for (const field of DATABASE_ERROR_FIELDS) {
    if (typeof fields[field] === 'string') wire[field] = fields[field];
  }
  return wire;
}

/** An Error with the PostgreSQL fields (code, detail, position...) back on it. */
export function fromWireError(wire: WireError): Error {
  const { message, ...fields } = wire;
  const err = Object.assign(new Error(message), fields);
  err.name = 'DatabaseError';
  return err;
}

export function isEmbeddedReply(message: unknown): message is EmbeddedReply {
  return typeof message === 'object' && message !== null && 'id' in message;
}

export function isEmbeddedStartup(message: unknown): message is EmbeddedStartup {
  return typeof message === 'object' && message !== null && 'type' in message;
}
