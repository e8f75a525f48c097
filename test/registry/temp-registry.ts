// Builds throwaway registry directories for tests: { slug: document-or-raw-text }.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const SCHEMA_URL =
  'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json';

/** A minimal valid server.json; override any field. */
export function serverJson(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    $schema: SCHEMA_URL,
    name: 'io.github.example/demo',
    description: 'A demo server',
    version: '1.0.0',
    packages: [
      {
        registryType: 'npm',
        identifier: '@example/demo',
        version: '1.0.0',
        transport: { type: 'stdio' },
      },
    ],
    ...overrides,
  };
}

export interface TempRegistry {
  dir: string;
  file(slug: string): string;
  cleanup(): Promise<void>;
}

export async function tempRegistry(
  servers: Record<string, Record<string, unknown> | string | Uint8Array>,
): Promise<TempRegistry> {
  const base = await mkdtemp(path.join(tmpdir(), 'mcpfleet-registry-'));
  const dir = path.join(base, 'servers');
  await mkdir(dir);
  for (const [slug, content] of Object.entries(servers)) {
    await mkdir(path.join(dir, slug), { recursive: true });
    const data =
      typeof content === 'string' || content instanceof Uint8Array
        ? content
        : JSON.stringify(content, null, 2);
    await writeFile(path.join(dir, slug, 'server.json'), data);
  }
  return {
    dir,
    file: (slug) => path.join(dir, slug, 'server.json'),
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
}

/** The settings block under _meta["dev.mcpfleet/v1"]. */
export function withSettings(settings: Record<string, unknown>, base = serverJson()) {
  return { ...base, _meta: { 'dev.mcpfleet/v1': settings } };
}
