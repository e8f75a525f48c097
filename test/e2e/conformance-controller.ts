// The controller the conformance tests run the suite through: the registry's everything-http
// (server-everything over Streamable HTTP) in a registry copy of its own, woken once so the
// suite can also be run against the very backend process the fleet started ("direct").
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AuthSettings } from '../../controller/auth/auth-settings.ts';
import { silentLogger } from '../../controller/observability/log.ts';
import { startController, type RunningController } from '../../controller/start.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const CONFORMANCE_SLUG = 'everything-http';

export interface ConformanceController {
  controller: RunningController;
  /** The gateway's endpoint for the server. */
  endpoint: string;
  /** The backend's own URL, past the gateway. */
  directUrl: string;
  close(): Promise<void>;
}

export async function startConformanceController(
  auth?: Partial<AuthSettings>,
): Promise<ConformanceController> {
  const registry = await mkdtemp(path.join(tmpdir(), 'mcpfleet-conformance-'));
  await cp(
    path.join(ROOT, 'registry/servers', CONFORMANCE_SLUG),
    path.join(registry, CONFORMANCE_SLUG),
    { recursive: true },
  );
  let controller: RunningController | undefined;
  try {
    controller = await startController({
      registryDir: registry,
      port: 0,
      dataDir: 'memory://',
      logger: silentLogger(),
      ...(auth ? { auth } : {}),
    });
    const lease = await controller.fleet.acquire(CONFORMANCE_SLUG, { kind: 'request' });
    lease.release();
    const started = controller;
    return {
      controller,
      endpoint: `${controller.url}/servers/${CONFORMANCE_SLUG}/mcp`,
      directUrl: lease.upstream.url,
      close: async () => {
        await started.close();
        await rm(registry, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await controller?.close();
    await rm(registry, { recursive: true, force: true });
    throw err;
  }
}
