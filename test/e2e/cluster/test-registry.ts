// The registry this test deploys: a copy of registry/servers with a few scaling settings
// overridden — `everything` sleeps sooner (its idleTimeout), so the test sees the controller scale
// it back to zero in seconds instead of five minutes, and a server whose image cannot be had on
// this machine starts asleep (minReplicas 0) instead of waiting forever for its image.
// Everything else is the checkout's registry, file for file.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO = new URL('../../../', import.meta.url).pathname;

export interface TestRegistry {
  dir: string;
  remove(): void;
}

export type ScalingOverrides = Record<string, { idleTimeout?: string; minReplicas?: number }>;

export function testRegistry(overrides: ScalingOverrides): TestRegistry {
  const root = mkdtempSync(join(tmpdir(), 'mcpfleet-e2e-registry-'));
  const dir = join(root, 'servers');
  cpSync(join(REPO, 'registry/servers'), dir, { recursive: true });
  for (const [slug, scaling] of Object.entries(overrides)) {
    const file = join(dir, slug, 'server.json');
    const server = JSON.parse(readFileSync(file, 'utf8')) as {
      _meta: Record<string, { scaling: Record<string, unknown> }>;
    };
    Object.assign(server._meta['dev.mcpfleet/v1']!.scaling, scaling);
    writeFileSync(file, `${JSON.stringify(server, null, 2)}\n`);
  }
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) };
}
