// The api_keys table (migrations/004_api_keys.sql) for SqlStore: the SQL of `mcpfleet keys`
// and of verifying a key, kept apart so the store's main file stays about fleet history.
import type { Role } from '../auth/principal.ts';
import type { SqlDatabase } from './sql.ts';
import {
  ApiKeyNameTakenError,
  type ApiKeyRecord,
  type NewApiKey,
  type StoredApiKey,
} from './store.ts';

interface ApiKeyRow {
  id: string;
  name: string;
  role: Role;
  servers: string[] | null;
  secret_hmac: string;
  created_at: Date | string;
  expires_at: Date | string | null;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
}

const RECORD_COLUMNS = 'id, name, role, servers, created_at, expires_at, last_used_at, revoked_at';

export async function insertApiKey(db: SqlDatabase, key: NewApiKey): Promise<ApiKeyRecord> {
  // One transaction: the name check and the insert see the same live keys (the unique index
  // is the last word when two controllers race).
  return db.transaction(async (tx) => {
    const taken = await tx.query('SELECT 1 FROM api_keys WHERE name = $1 AND revoked_at IS NULL', [
      key.name,
    ]);
    if (taken.length > 0) throw new ApiKeyNameTakenError(key.name);
    const [row] = await tx.query<ApiKeyRow>(
      `INSERT INTO api_keys (id, name, role, servers, secret_hmac, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${RECORD_COLUMNS}`,
      [
        key.id,
        key.name,
        key.role,
        key.servers === null ? null : JSON.stringify(key.servers),
        key.secretHmac,
        key.expiresAt,
      ],
    );
    return toRecord(row!);
  });
}

export async function listApiKeys(db: SqlDatabase): Promise<ApiKeyRecord[]> {
  const rows = await db.query<ApiKeyRow>(
    `SELECT ${RECORD_COLUMNS} FROM api_keys ORDER BY created_at, id`,
  );
  return rows.map(toRecord);
}

export async function findApiKey(db: SqlDatabase, id: string): Promise<StoredApiKey | undefined> {
  const [row] = await db.query<ApiKeyRow>(
    `SELECT ${RECORD_COLUMNS}, secret_hmac FROM api_keys WHERE id = $1`,
    [id],
  );
  return row ? { ...toRecord(row), secretHmac: row.secret_hmac } : undefined;
}

export async function revokeApiKey(db: SqlDatabase, id: string): Promise<ApiKeyRecord | undefined> {
  const [row] = await db.query<ApiKeyRow>(
    `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1
     RETURNING ${RECORD_COLUMNS}`,
    [id],
  );
  return row ? toRecord(row) : undefined;
}

export async function touchApiKey(db: SqlDatabase, id: string, at: Date): Promise<void> {
  // GREATEST: a late write from a slower replica never moves the time backwards.
  await db.query('UPDATE api_keys SET last_used_at = GREATEST(last_used_at, $2) WHERE id = $1', [
    id,
    at,
  ]);
}

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    servers: row.servers,
    createdAt: toIso(row.created_at),
    expiresAt: toIsoOrNull(row.expires_at),
    lastUsedAt: toIsoOrNull(row.last_used_at),
    revokedAt: toIsoOrNull(row.revoked_at),
  };
}

function toIsoOrNull(at: Date | string | null): string | null {
  return at === null ? null : toIso(at);
}

function toIso(at: Date | string): string {
  return (at instanceof Date ? at : new Date(at)).toISOString();
}
