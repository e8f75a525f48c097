// The one seam between the SQL the store runs and the database running it: PGlite
// (embedded) and PostgreSQL (pg) each provide this tiny adapter, everything above is shared.

export interface SqlExecutor {
  /** One statement, $1-style parameters; returns the rows. */
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Several statements, no parameters (migration files). */
  exec(sql: string): Promise<void>;
}

export interface SqlDatabase extends SqlExecutor {
  /** Runs fn in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** For messages: the database URL (password redacted) or the embedded data directory. */
  readonly description: string;
}

/** Schema names go into search_path unquoted; keep them to plain identifiers. */
export function assertSchemaName(schema: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(
      `invalid schema name "${schema}": use lowercase letters, digits and _ (max 63 chars)`,
    );
  }
}
