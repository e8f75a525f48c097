// Starts the controller's HTTP server (gateway + API) on a free loopback port in-process.
import type { AddressInfo } from 'node:net';
import {
  createControllerServer,
  type ControllerServer,
  type ControllerServerOptions,
} from '../../../controller/http-server.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { Metrics } from '../../../controller/observability/metrics.ts';
import type { Fleet } from '../../../controller/fleet/fleet.ts';

export interface RunningGateway {
  /** http://127.0.0.1:<port> */
  base: string;
  port: number;
  metrics: Metrics;
  controller: ControllerServer;
  mcpUrl(slug: string): string;
  close(): Promise<void>;
}

export async function startGateway(
  fleet: Fleet,
  options: Partial<ControllerServerOptions> = {},
): Promise<RunningGateway> {
  const metrics = new Metrics({ processMetrics: false });
  const controller = createControllerServer({
    fleet,
    metrics,
    logger: silentLogger(),
    listenHost: '127.0.0.1',
    ...options,
  });
  await new Promise<void>((resolve) => controller.server.listen(0, '127.0.0.1', resolve));
  const port = (controller.server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    port,
    metrics,
    controller,
    mcpUrl: (slug) => `${base}/servers/${slug}/mcp`,
    close: () => controller.close(100),
  };
}

/** Polls `condition` every `intervalMs` until true, or fails after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 5_000,
  intervalMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
