// Composes a running controller: registry source → store + coordination → fleet (local or
// Kubernetes runtime) → HTTP server (gateway, API, probes). `mcpfleet serve` is a thin CLI
// over this, and tests and benches start real controllers in-process with it.
import type { Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { Counter } from 'prom-client';
import type { ServerStatus } from './api/types.ts';
import { AuditLog, type AuditSettings } from './audit/audit-log.ts';
import { storeClosingLast } from './audit/store-closing-last.ts';
import { openCoord } from './coord/open-coord.ts';
import type { Coord } from './coord/coord.ts';
import type { KubernetesOptions, RuntimeName } from './fleet/create-fleet.ts';
import type { LocalFleetOptions } from './fleet/local-fleet.ts';
import type { Fleet } from './fleet/fleet.ts';
import { isLoopbackHostname } from './gateway/validate-request.ts';
import type { AuthSettings } from './auth/auth-settings.ts';
import { createControllerAccess } from './auth/controller-access.ts';
import type { Authenticator } from './auth/principal.ts';
import { createControllerServer, type ControllerServer, type Readiness } from './http-server.ts';
import type { ConnectionLimits } from './connections/connection-limits.ts';
import {
  createLogger,
  logDestinationOf,
  type LogFormat,
  type Logger,
} from './observability/log.ts';
import { ServerLogs } from './observability/server-logs.ts';
import { Metrics } from './observability/metrics.ts';
import {
  openRegistrySource,
  staticRegistrySource,
  type RegistrySource,
} from './registry-source/registry-source.ts';
import type { DirectoryWatchTiming } from './registry-source/directory-watch.ts';
import { RegistryStatus } from './registry-source/registry-status.ts';
import { diffSpecs, isEmptyDiff, type RegistryDiff } from './registry-source/spec-diff.ts';
import {
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEFAULT_REGISTRY,
  DEFAULT_SHUTDOWN_GRACE_MS,
  KUBERNETES_DEFAULT_HOST,
} from './start-defaults.ts';
import { readinessChecks } from './readiness-checks.ts';
import { openRateLimits } from './rate-limits/open-rate-limits.ts';
import { resolveRateLimits, type RateLimitSettings } from './rate-limits/rate-limit-settings.ts';
import { DEFAULT_DATA_DIR, openStore } from './store/open-store.ts';
import type { ApiKeys } from './auth/keys/api-keys.ts';
import { prepareApiKeys } from './auth/keys/open-api-keys.ts';
import { ServerPolicies } from './auth/policy/server-policies.ts';
import { formatProblem } from '../registry/catalog/problems.ts';
import type { Problem, ServerSpec } from '../registry/catalog/spec.ts';
import { CONTROLLER_NAME } from '../registry/catalog/workload-names.ts';

export { DEFAULT_HOST, DEFAULT_PORT, DEFAULT_REGISTRY, KUBERNETES_DEFAULT_HOST };
export { DEFAULT_SHUTDOWN_GRACE_MS };

export interface StartOptions {
  /**
   * Registry directory (default registry/servers): <slug>/server.json folders, or *.json
   * shards of compiled specs (a ConfigMap volume), told apart by what it holds. Ignored when
   * `specs` or `registrySource` is given.
   */
  registryDir?: string;
  /** Already compiled specs (tests). */
  specs?: ServerSpec[];
  /** Any other source of specs; wins over `specs` and `registryDir`. */
  registrySource?: RegistrySource;
  /** How registry changes are noticed (tests shorten the poll). */
  registryWatch?: DirectoryWatchTiming;
  /**
   * Called after the registry changed to a valid new state, with the complete spec list and
   * what changed. The controller has logged the change and counted it by then.
   */
  onRegistryChange?: (specs: ServerSpec[], diff: RegistryDiff) => void;
  /** Where replicas run: local processes (default) or Deployments in a cluster. */
  runtime?: RuntimeName;
  /** Required with runtime "kubernetes". */
  kubernetes?: KubernetesOptions;
  /**
   * The URL clients use to reach this controller (e.g. the Ingress), like
   * https://mcp.example.com. Its host is accepted in Host headers; shown in the banner.
   */
  publicUrl?: string;
  /** Default 127.0.0.1; 0.0.0.0 with runtime "kubernetes". */
  host?: string;
  /** 0 picks a free port. Default 8080. */
  port?: number;
  /** Real PostgreSQL; absent → embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  /** PGlite directory (default .mcpfleet/pgdata; "memory://" for tests). */
  dataDir?: string;
  /**
   * Bound on each database call and on closing the database (default 10 s): a database that
   * stops answering fails calls instead of holding them, and cannot hold up a shutdown.
   */
  storeTimeoutMs?: number;
  /**
   * What API keys are hashed under (--key-hashing-secret; default MCPFLEET_KEY_HASHING_SECRET),
   * the same on every replica. On loopback without one it is generated beside the embedded
   * database; beyond loopback without one, keys are refused (saying so).
   */
  keyHashingSecret?: string;
  /** Real Redis; absent → in-process coordination. */
  redisUrl?: string;
  /** Overrides every server's idle timeout. */
  idleTimeoutMs?: number;
  maxBodyBytes?: number;
  /** Connection cap, probe reserve, header and body deadlines; unset ones are defaults. */
  connections?: Partial<ConnectionLimits>;
  allowedOrigins?: string[];
  /** Extra Host names, added to the ones derived (see `controllerHostNames`); "*" = any. */
  allowedHosts?: string[];
  /** Default: a JSON logger at `logLevel` on stdout (pretty with `logFormat: 'pretty'`). */
  logger?: Logger;
  logLevel?: string;
  logFormat?: LogFormat;
  /** Log bytes held while stdout does not keep up (log-destination.ts); default 8 MiB. */
  logBufferBytes?: number;
  /**
   * Where each server's recent lines are kept for GET /api/v1/servers/<slug>/logs. The default
   * logger feeds it; a `logger` passed in must have been created with it (createLogger's
   * `serverLogs`), or `mcpfleet logs` shows nothing.
   */
  serverLogs?: ServerLogs;
  /**
   * How long a shutdown (close(), SIGTERM) lets the requests in flight finish before it ends
   * them with a JSON-RPC error; new requests are refused (503) from its start. Default 20 s.
   */
  shutdownGraceMs?: number;
  /**
   * Who may call (issue 10): the issuers whose JWT access tokens are accepted, role mapping,
   * required scopes, --insecure-no-auth. Nothing configured on loopback: everyone is anonymous;
   * beyond loopback the controller refuses to start open unless `insecureNoAuth`.
   */
  auth?: Partial<AuthSettings>;
  /** Credential checkers besides the issuers' tokens (API keys). */
  authenticators?: Authenticator[];
  /**
   * A platform-wide Cedar policy file (--policy-file, MCPFLEET_POLICY_FILE) whose rules join
   * every server's `_meta` access block (auth/policy/); one that is not valid stops the start.
   */
  policyFile?: string;
  /**
   * Budgets per caller and per server (rate-limits/rate-limit-settings.ts), shared through
   * `redisUrl` when given. Unset ones: the defaults beyond loopback, off on loopback; null: off.
   */
  rateLimits?: Partial<RateLimitSettings>;
  /**
   * The audit log (controller/audit/): retention (--audit-retention, default 30 days) and the
   * writer's batching. false: nothing is recorded (benches comparing with and without).
   */
  audit?: Partial<AuditSettings> | false;
  /** Lifecycle tuning passed to the fleet (drain grace, runtime options...). */
  fleet?: Partial<Omit<LocalFleetOptions, 'specs' | 'store' | 'coord' | 'metrics' | 'logger'>>;
}

export interface RunningController {
  /** http://host:port */
  url: string;
  /** `publicUrl` without a trailing slash, when given. */
  publicUrl: string | undefined;
  port: number;
  fleet: Fleet;
  metrics: Metrics;
  logger: Logger;
  /** Each server's recent log lines (`mcpfleet logs`). */
  serverLogs: ServerLogs;
  /** The specs in force: the loaded ones, then each accepted registry change. */
  specs(): ServerSpec[];
  /**
   * Graceful: refuse new requests (503) and let those in flight finish within the shutdown
   * grace, then end the rest with an error, end streams, stop every child, close store and
   * coord (each bounded).
   */
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

export interface HostNameOptions {
  /** The listen address. */
  host: string;
  runtime: RuntimeName;
  namespace?: string;
  podName?: string;
  publicUrl?: string;
  /** --allowed-hosts */
  allowedHosts?: readonly string[];
  /** This machine's interface addresses; default from os.networkInterfaces(). */
  addresses?: readonly string[];
  /** Default os.hostname() (a pod's hostname is its name). */
  machineName?: string;
}

/**
 * The Host allow-list handed to the gateway (loopback names are always accepted on top).
 * `undefined` keeps the gateway's own default: loopback only when bound to loopback, any
 * Host when bound elsewhere with nothing to go on.
 *
 * - The public URL's host name (any port) whenever --public-url is given: that is what the
 *   Ingress, or a reverse proxy on this machine, sends.
 * - Bound to a non-loopback address with the kubernetes runtime, or with --public-url or
 *   --allowed-hosts given: also this machine's own names — every interface address (the pod
 *   IP: Prometheus scrapes /metrics by it) and the hostname (the pod name) — and, for
 *   kubernetes, the Service's DNS names: mcpfleet-controller, mcpfleet-controller.<ns>,
 *   mcpfleet-controller.<ns>.svc and mcpfleet-controller.<ns>.svc.cluster.local (another
 *   cluster domain needs --allowed-hosts).
 * - Then --allowed-hosts, added to all of the above; "*" accepts any Host.
 */
export function controllerHostNames(options: HostNameOptions): string[] | undefined {
  const explicit = options.allowedHosts ?? [];
  if (explicit.includes('*')) return ['*'];
  const names: string[] = [];
  if (options.publicUrl !== undefined) names.push(new URL(options.publicUrl).hostname);
  const kubernetes = options.runtime === 'kubernetes';
  if (
    !isLoopbackHostname(options.host) &&
    (kubernetes || names.length > 0 || explicit.length > 0)
  ) {
    names.push(...(options.addresses ?? interfaceAddresses()));
    names.push(options.machineName ?? hostname());
    if (kubernetes) {
      const service = CONTROLLER_NAME; // the controller's Service
      names.push(service);
      if (options.podName) names.push(options.podName);
      if (options.namespace) {
        const ns = options.namespace;
        names.push(
          `${service}.${ns}`,
          `${service}.${ns}.svc`,
          `${service}.${ns}.svc.cluster.local`,
        );
      }
    }
  }
  if (names.length === 0 && explicit.length === 0) return undefined;
  return [...new Set([...explicit, ...names.map((n) => n.toLowerCase())])];
}

/** Every non-internal address of this machine, IPv6 in brackets as a Host header has it. */
function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => !a.internal)
    .map((a) => (a.family === 'IPv6' ? `[${a.address.replace(/%.*$/, '')}]` : a.address));
}

/** The address to listen on: the given one, else loopback locally and every interface in a pod. */
export function listenHost(runtime: RuntimeName, host?: string): string {
  return host ?? (runtime === 'kubernetes' ? KUBERNETES_DEFAULT_HOST : DEFAULT_HOST);
}

export async function startController(options: StartOptions = {}): Promise<RunningController> {
  const serverLogs = options.serverLogs ?? new ServerLogs();
  const logger =
    options.logger ??
    createLogger({
      level: options.logLevel,
      format: options.logFormat,
      maxBufferedBytes: options.logBufferBytes,
      serverLogs,
    });
  const runtime = options.runtime ?? 'local';
  if (runtime === 'kubernetes' && !options.kubernetes) {
    throw new Error('runtime "kubernetes" needs kubernetes: { namespace, podName }');
  }
  const host = listenHost(runtime, options.host);
  const publicUrl = options.publicUrl?.replace(/\/+$/, '');
  const allowedHosts = controllerHostNames({
    host,
    runtime,
    namespace: options.kubernetes?.namespace,
    podName: options.kubernetes?.podName,
    publicUrl,
    allowedHosts: options.allowedHosts,
  });

  let listenUrl = '';
  let fleet: Fleet;
  // API keys join the gate when a key-hashing secret is configured (auth/keys/open-api-keys.ts).
  const keys = await prepareApiKeys({
    host,
    dataDir: options.dataDir ?? DEFAULT_DATA_DIR,
    keyHashingSecret: options.keyHashingSecret,
    logger,
  });
  // Before anything opens: a controller that must not start open fails at once.
  const access = createControllerAccess({
    settings: options.auth,
    authenticators: [
      ...(options.authenticators ?? []),
      ...(keys.configured ? [keys.authenticator] : []),
    ],
    host,
    publicUrl,
    listenUrl: () => listenUrl,
    has: (slug) => fleet.has(slug),
    logger,
  });

  const source =
    options.registrySource ??
    (options.specs !== undefined
      ? staticRegistrySource(options.specs)
      : openRegistrySource(options.registryDir ?? DEFAULT_REGISTRY, {
          logger,
          watch: options.registryWatch,
        }));
  const loaded = await source.load();
  if (loaded.problems.length > 0) throw new RegistryError(source.location, loaded.problems);
  let specs = loaded.specs;
  // Before anything opens, too: a policy file that is not valid Cedar stops the start here.
  const policies = await ServerPolicies.open({ specs, policyFile: options.policyFile });
  const registryStatus = new RegistryStatus(source, specs.length);
  await assertPortFree(options.port ?? DEFAULT_PORT, host);

  const store = await openStore({
    databaseUrl: options.databaseUrl,
    dataDir: options.dataDir,
    ...(options.storeTimeoutMs !== undefined
      ? { queryTimeoutMs: options.storeTimeoutMs, closeTimeoutMs: options.storeTimeoutMs }
      : {}),
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
  let apiKeys: ApiKeys;
  try {
    apiKeys = await keys.open(store, coord);
  } catch (err) {
    await coord.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }

  const metrics = new Metrics();
  metrics.countLogDrops(() => logDestinationOf(logger)?.dropped ?? 0);
  const rateLimits = openRateLimits({
    settings: resolveRateLimits(options.rateLimits, host),
    redisUrl: options.redisUrl,
    logger,
    metrics,
  });
  const reloads = new Counter({
    name: 'mcpfleet_registry_reloads_total',
    help: 'Registry changes noticed while running, by outcome (applied | rejected)',
    labelNames: ['outcome'] as const,
    registers: [metrics.registry],
  });
  let shuttingDown = false;
  let audit: AuditLog | undefined;
  // The fleet closes the store last, after the audit log's final flush (store-closing-last.ts).
  const fleetStore = storeClosingLast(store, async () => audit?.close());
  try {
    // Loaded here, not at import: the Kubernetes client alone takes ~0.7 s to load, and every
    // `mcpfleet` command (the runner images' `mcpfleet bridge` on each wake) imports this file.
    const { createFleet } = await import('./fleet/create-fleet.ts');
    fleet = await createFleet({
      ...options.fleet,
      target:
        runtime === 'kubernetes'
          ? { runtime: 'kubernetes', ...options.kubernetes! }
          : { runtime: 'local' },
      specs,
      store: fleetStore.store,
      coord,
      metrics,
      logger,
      ...(options.idleTimeoutMs !== undefined
        ? { idleTimeoutOverrideMs: options.idleTimeoutMs }
        : {}),
    });
  } catch (err) {
    await rateLimits.close().catch(() => undefined);
    await coord.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
  serverLogs.only((slug) => fleet.has(slug));
  let controller: ControllerServer | undefined;
  try {
    await fleet.start();
    if (options.audit !== false)
      audit = new AuditLog({ ...options.audit, store, logger, registry: metrics.registry });
    controller = createControllerServer({
      fleet,
      metrics,
      logger,
      listenHost: host,
      allowedHosts,
      allowedOrigins: options.allowedOrigins,
      maxBodyBytes: options.maxBodyBytes,
      connections: options.connections,
      readiness: withAuthWarning(
        readinessChecks({
          store,
          coord,
          servers: () => specs.length,
          fleet,
          shuttingDown: () => shuttingDown,
        }),
        access.warning,
      ),
      access,
      registry: () => registryStatus.toJSON(),
      serverLogs,
      keys: apiKeys,
      audit,
      rateLimits: rateLimits.limits,
      policies,
    });
    await listen(controller, options.port ?? DEFAULT_PORT, host);
  } catch (err) {
    await rateLimits.close().catch(() => undefined);
    await controller?.close(0).catch(() => undefined);
    fleetStore.gatewayClosed();
    await fleet.stop().catch(() => undefined); // also closes store and coord
    throw err;
  }

  // Registry changes while running (a ConfigMap update reaches the pod's volume).
  const registryLog = logger.child({ component: 'registry' });
  const stopWatching = source.watch(
    (next) => {
      const diff = diffSpecs(specs, next);
      specs = next;
      reloads.inc({ outcome: 'applied' });
      registryStatus.applied(next.length);
      if (isEmptyDiff(diff)) return;
      registryLog.info({ ...diff, servers: next.length }, 'registry changed');
      // The policies first: a server the fleet knows is never asked about before its policy.
      void policies
        .apply(next)
        .catch((err: unknown) => registryLog.error({ err }, 'could not apply access policies'))
        .then(() => fleet.applyRegistry?.(next))
        .catch((err: unknown) => registryLog.error({ err }, 'could not apply registry change'));
      options.onRegistryChange?.(next, diff);
    },
    (problems) => {
      reloads.inc({ outcome: 'rejected' });
      registryStatus.rejected(problems);
    },
  );

  const port = (controller.server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  listenUrl = url;
  const server = controller;
  let closing: Promise<void> | undefined;
  return {
    url,
    publicUrl,
    port,
    fleet,
    metrics,
    logger,
    serverLogs,
    specs: () => specs,
    close: () =>
      (closing ??= (async () => {
        stopWatching();
        await apiKeys.close();
        // Still listening through the grace: a request arriving now gets a 503 with a JSON-RPC
        // error (and /readyz says not-ready, so a Service stops sending any), not a refused
        // connection.
        shuttingDown = true;
        await fleet.drain?.(options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS);
        // Then the fleet stops: it ends every open stream and the requests still in flight
        // (lease signals) and every child process, so the connections drain by themselves.
        const stopped = fleet.stop();
        await server.close(2_000);
        // No reply can end now: the audit log writes its last records, then the store closes.
        fleetStore.gatewayClosed();
        await stopped;
        await rateLimits.close();
      })()),
  };
}

/** /readyz also says when the controller runs open beyond loopback (--insecure-no-auth). */
function withAuthWarning(readiness: Readiness, warning: string | undefined): Readiness {
  if (warning === undefined) return readiness;
  return async () => ({ ...(await readiness()), auth: { ok: true, degradable: true, warning } });
}

function listen(controller: ControllerServer, port: number, host: string): Promise<void> {
  return listenOn(controller.server, port, host);
}

function listenOn(server: Server | NetServer, port: number, host: string): Promise<void> {
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
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Says at once that the port is taken, before seconds go into the database, the fleet and
 * the runtime. (Taken in between, the real listen reports it the same way.)
 */
async function assertPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  const probe = createNetServer();
  await listenOn(probe, port, host);
  await new Promise((resolve) => probe.close(resolve));
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
