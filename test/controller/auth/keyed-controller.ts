// A whole controller that checks API keys, on the test PostgreSQL in a schema of its own, with
// its first admin key written straight into the database by `mcpfleet keys create
// --database-url` (as the runbook bootstraps one). close() stops it and drops the schema.
import assert from 'node:assert/strict';
import pg from 'pg';
import {
  startController,
  type RunningController,
  type StartOptions,
} from '../../../controller/start.ts';
import { runCli } from '../cli/run-cli.ts';
import { DATABASE_URL, schemaUrl } from '../store/postgres-schema.ts';

export interface KeyedController {
  controller: RunningController;
  /** The first admin key (mcpf_…) and its id. */
  admin: { key: string; id: string };
  /** The schema's database URL (search_path set), as the controller uses it. */
  databaseUrl: string;
  close(): Promise<void>;
}

export async function startKeyedController(
  schema: string,
  secret: string,
  options: Omit<StartOptions, 'databaseUrl' | 'keyHashingSecret' | 'port'>,
): Promise<KeyedController> {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const databaseUrl = schemaUrl(schema);
  const controller = await startController({
    ...options,
    port: 0,
    databaseUrl,
    keyHashingSecret: secret,
  });
  process.env.MCPFLEET_KEY_HASHING_SECRET = secret;
  let first;
  try {
    const args = ['--name', 'first-admin', '--role', 'admin', '--json'];
    first = await runCli('keys', 'create', ...args, '--database-url', databaseUrl);
  } finally {
    delete process.env.MCPFLEET_KEY_HASHING_SECRET;
  }
  assert.equal(first.code, 0, first.stderr);
  return {
    controller,
    admin: JSON.parse(first.stdout) as { key: string; id: string },
    databaseUrl,
    close: async () => {
      await controller.close();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}
