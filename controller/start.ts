// Composes a running controller: registry → store + coordination → local fleet → HTTP
// server (gateway, API, probes). `mcpfleet serve` is a thin CLI over this, and tests and
// benches start real controllers in-process with it.
import type { AddressInfo } from 'node:net';
import type { ServerStatus } from './api/types.ts';
import { openCoord } from './coord/open-coord.ts';
import type { Coord } from './coord/coord.ts';
import { createLocalFleet, type LocalFleetOptions } from './fleet/local-fleet.ts';
import type { Fleet } from './fleet/fleet.ts';
import { createControllerServer, type ControllerServer } from './http-server.ts';
import { createLogger, type Logger } from './observability/log.ts';
import { Metrics } from './observability/metrics.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/store.ts';
import { formatProblem, loadRegistry } from '../registry/catalog/index.ts';
import type { Problem, ServerSpec } from '../registry/catalog/spec.ts';

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_REGISTRY = 'registry/servers';

export interface StartOptions {
  /** Registry directory (default registry/servers); ignored when `specs` is given. */
  registryDir?: string;
  /** Already compiled specs (tests). */
  specs?: ServerSpec[];
  host?: string;
  /** 0 picks a free port. Default 8080. */
  port?: number;
  /** Real PostgreSQL; absent → embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  /** PGlite directory (default .mcpfleet/pgdata; "memory://" for tests). */
  dataDir?: string;
  /** Real Redis; absent → in-process coordination. */
  redisUrl?: string;
  /** Overrides every server's idle timeout. */
  idleTimeoutMs?: number;
  maxBodyBytes?: number;
  allowedOrigins?: string[];
  allowedHosts?: string[];
  logger?: Logger;
  logLevel?: string;
  /** Lifecycle tuning passed to the fleet (drain grace, runtime options...). */
  fleet?: Partial<Omit<LocalFleetOptions, 'specs' | 'store' | 'coord' | 'metrics' | 'logger'>>;
}

export interface RunningController {
  /** http://host:port */
  url: string;
  port: number;
  fleet: Fleet;
  metrics: Metrics;
  logger: Logger;
  /** Graceful: stop accepting, end streams, stop every child, close store and coord. */
  close(): Promise<void>;
}

/** The registry has problems: nothing starts. `problems` carry file + JSON path + reason. */
export class RegistryError extends Error {
  readonly problems: Problem[];
  constructor(dir: string, problems: Problem[]) {
    super(
      `registry ${dir} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  ${formatProblem(p)}`).join('\n'),
    );
    this.name = 'RegistryError';
    this.problems = problems;
  }
}

export async function startController(options: StartOptions = {}): Promise<RunningController> {
  const logger = options.logger ?? createLogger({ level: options.logLevel });
  const host = options.host ?? DEFAULT_HOST;
  const registryDir = options.registryDir ?? DEFAULT_REGISTRY;

  let specs = options.specs;
  if (specs === undefined) {
    const result = await loadRegistry(registryDir);
    if (result.problems.length > 0) throw new RegistryError(registryDir, result.problems);
    specs = result.specs;
  }

  const store = await openStore({
    databaseUrl: options.databaseUrl,
    dataDir: options.dataDir,
    logger: logger.child({ component: 'store' }),
  });
  let coord: Coord;
  try {
    coord = await openCoord({
      redisUrl: options.redisUrl,
      logger: logger.child({ component: 'coord' }),
    });
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }

  const metrics = new Metrics();
  const fleet = createLocalFleet({
    ...options.fleet,
    specs,
    store,
    coord,
    metrics,
    logger,
    ...(options.idleTimeoutMs !== undefined
      ? { idleTimeoutOverrideMs: options.idleTimeoutMs }
      : {}),
  });
  let controller: ControllerServer | undefined;
  try {
    await fleet.start();
    controller = createControllerServer({
      fleet,
      metrics,
      logger,
      listenHost: host,
      allowedHosts: options.allowedHosts,
      allowedOrigins: options.allowedOrigins,
      maxBodyBytes: options.maxBodyBytes,
      readiness: readinessChecks(store, coord, specs.length),
    });
    await listen(controller, options.port ?? DEFAULT_PORT, host);
  } catch (err) {
    await controller?.close(0).catch(() => undefined);
    await fleet.stop().catch(() => undefined); // also closes store and coord
    throw err;
  }

  const port = (controller.server.address() as AddressInfo).port;
  const server = controller;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    fleet,
    metrics,
    logger,
    close: () =>
      (closing ??= (async () => {
        // Stop the fleet first: it ends every open stream (lease signals) and child
        // process, so the HTTP server's connections drain by themselves.
        const stopped = fleet.stop();
        await server.close(2_000);
        await stopped;
      })()),
  };
}

function listen(controller: ControllerServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`port ${port} on ${host} is already in use: pick another with --port`)
          : err.code === 'EADDRNOTAVAIL'
            ? new Error(`cannot listen on ${host}: not an address of this machine (--host)`)
            : err,
      );
    };
    controller.server.once('error', onError);
    controller.server.listen(port, host, () => {
      controller.server.off('error', onError);
      resolve();
    });
  });
}

/** /readyz: the store and coordination answer, the registry loaded. */
function readinessChecks(store: Store, coord: Coord, servers: number) {
  const probe = async (what: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        what(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer within 2 s')), 2_000);
        }),
      ]);
      return { ok: true };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
  };
  return async () => ({
    store: await probe(() => store.listEvents({ limit: 1 })),
    coord: await probe(() => coord.lastActivity('readyz')),
    registry: { ok: true, servers } as { ok: boolean; servers: number },
  });
}

/** One line per server for the serve banner: its URL and whether it can run here. */
export function describeServers(url: string, servers: ServerStatus[]): string[] {
  const width = Math.max(4, ...servers.map((s) => s.slug.length));
  const urlWidth = Math.max(0, ...servers.map((s) => url.length + s.endpoint.length));
  return servers.map((s) => {
    const where =
      s.state === 'unavailable' || s.state === 'failed'
        ? `not runnable here: ${s.lastError ?? s.state}`
        : s.kind === 'remote'
          ? 'remote (proxied)'
          : `runs locally (${s.state}${s.minReplicas > 0 ? `, min ${s.minReplicas}` : ''})`;
    return `  ${s.slug.padEnd(width)}  ${`${url}${s.endpoint}`.padEnd(urlWidth)}  ${where}`;
  });
}
