// The test PostgreSQL, and a schema of its own per test, reached through a proxy (the
// controller gets a URL whose search_path is that schema, so it migrates and writes there).
import pg from 'pg';
import type { FreezableProxy } from './freezable-proxy.ts';

export const DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema of its own in the test database, and a URL through `proxy` that uses it. */
export async function isolatedUrl(proxy: FreezableProxy, schema: string): Promise<string> {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  const url = new URL(schemaUrl(schema));
  url.host = `127.0.0.1:${proxy.port}`;
  return url.toString();
}

/** `base` (the test database unless given) with `schema` as its search_path, as a controller takes it. */
export function schemaUrl(schema: string, base: string = DATABASE_URL): string {
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

export async function dropSchema(schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => admin.end());
}
