// `mcpfleet serve` (= npm start): the controller — MCP gateway, management API, and the
// lifecycle of every registered server — on embedded defaults unless told otherwise.
import { existsSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { parseDuration } from '../../../registry/catalog/duration.ts';
import type { RuntimeName } from '../../fleet/create-fleet.ts';
import {
  LOG_FORMATS,
  resolveLogFormat,
  type LogFormatChoice,
} from '../../observability/log-format.ts';
import { parseByteSize } from '../../gateway/byte-size.ts';
import { resolveConnectionLimits } from '../../connections/connection-limits.ts';
import { parser } from '../option-parser.ts';
import {
  addConnectionOptions,
  connectionLimitsOf,
  type ConnectionFlags,
} from './serve-connection-flags.ts';
import { addAuthOptions, authSettingsOf, type AuthFlags } from './serve-auth-flags.ts';
import { addAuditOptions, auditSettingsOf, type AuditFlags } from './serve-audit-flags.ts';
import {
  addRateLimitOptions,
  RATE_LIMIT_HELP,
  rateLimitSettingsOf,
  type RateLimitFlags,
} from './serve-rate-limit-flags.ts';
import {
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEFAULT_REGISTRY,
  KUBERNETES_DEFAULT_HOST,
} from '../../start-defaults.ts';
// Only types from start.ts: the controller itself is imported when serve runs, so the
// command tree (and --help, --version) loads without it.
import type { RunningController, StartOptions } from '../../start.ts';

export interface ServeFlags extends ConnectionFlags, AuthFlags, RateLimitFlags, AuditFlags {
  port: number;
  host: string;
  runtime: RuntimeName;
  namespace?: string;
  podName?: string;
  kubeconfig?: string;
  publicUrl?: string;
  registry: string;
  databaseUrl?: string;
  redisUrl?: string;
  dataDir: string;
  keyHashingSecret?: string;
  idleTimeout?: number;
  shutdownGrace?: number;
  storeTimeout?: number;
  maxBody?: number;
  allowedOrigins?: string[];
  allowedHosts?: string[];
  logLevel?: string;
  logFormat: LogFormatChoice;
  logBuffer?: number;
  serverLogRate?: number;
}

/** Where a flag's value came from (commander's getOptionValueSource). */
export type FlagSource = (key: keyof ServeFlags) => string | undefined;

/** What serve needs to know about the machine it runs on; tests pass their own. */
export interface ServeEnvironment {
  /** KUBERNETES_SERVICE_HOST and _PORT are set: the kubelet put us in a pod. */
  inCluster: boolean;
  /** ~/.kube/config, when it exists. */
  defaultKubeconfig: string | undefined;
  /** A pod's hostname is its name. */
  hostname: string;
  fileExists(file: string): boolean;
  /** A person watches stdout: `--log-format auto` is pretty. */
  stdoutIsTTY: boolean;
}

export function detectEnvironment(env: NodeJS.ProcessEnv = process.env): ServeEnvironment {
  const kubeconfig = path.join(homedir(), '.kube', 'config');
  return {
    inCluster: Boolean(env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT),
    defaultKubeconfig: existsSync(kubeconfig) ? kubeconfig : undefined,
    hostname: hostname(),
    fileExists: existsSync,
    stdoutIsTTY: process.stdout.isTTY === true,
  };
}

/** A namespace name: a DNS-1123 label. */
const NAMESPACE_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const KUBERNETES_ONLY: Array<[keyof ServeFlags, string]> = [
  ['namespace', '--namespace'],
  ['podName', '--pod-name'],
  ['kubeconfig', '--kubeconfig'],
];

/**
 * Flags (and where each came from) → StartOptions, checking the combinations. Throws an
 * Error whose message is the whole explanation (serve prefixes "mcpfleet serve: ").
 */
export function serveStartOptions(
  flags: ServeFlags,
  sourceOf: FlagSource,
  environment: ServeEnvironment = detectEnvironment(),
): StartOptions {
  const runtime = flags.runtime;
  let kubernetes: StartOptions['kubernetes'];
  if (runtime === 'local') {
    // Given on the command line they are a mistake; from the environment (a shell that
    // exports KUBECONFIG) they are simply not used.
    const misplaced = KUBERNETES_ONLY.filter(([key]) => sourceOf(key) === 'cli').map(([, f]) => f);
    if (misplaced.length > 0) {
      throw new Error(
        `${misplaced.join(', ')} appl${misplaced.length === 1 ? 'ies' : 'y'} only to --runtime kubernetes (this is --runtime local)`,
      );
    }
  } else {
    const namespace = flags.namespace;
    if (!namespace) {
      throw new Error('--runtime kubernetes needs --namespace or MCPFLEET_NAMESPACE');
    }
    if (!NAMESPACE_PATTERN.test(namespace)) {
      throw new Error(
        `--namespace "${namespace}" is not a Kubernetes namespace name: 1-63 lowercase letters, digits and "-", starting and ending with a letter or digit`,
      );
    }
    let kubeconfig = flags.kubeconfig;
    if (kubeconfig !== undefined) {
      const files = kubeconfig.split(path.delimiter).filter(Boolean);
      if (!files.some((file) => environment.fileExists(file))) {
        const flag = sourceOf('kubeconfig') === 'env' ? 'KUBECONFIG' : '--kubeconfig';
        throw new Error(`${flag} ${kubeconfig}: no such file`);
      }
    } else if (!environment.inCluster) {
      kubeconfig = environment.defaultKubeconfig;
      if (kubeconfig === undefined) {
        throw new Error(
          '--runtime kubernetes outside a pod needs --kubeconfig or KUBECONFIG ' +
            '(there is no in-cluster service account here, and no ~/.kube/config)',
        );
      }
    }
    kubernetes = {
      namespace,
      podName: flags.podName || environment.hostname,
      ...(kubeconfig !== undefined ? { kubeconfig } : {}),
    };
  }
  if (flags.publicUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(flags.publicUrl);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
      throw new Error(
        `--public-url "${flags.publicUrl}" is not an http(s) URL, e.g. https://mcp.example.com`,
      );
    }
  }
  const connections = connectionLimitsOf(flags);
  const auth = authSettingsOf(flags);
  const rateLimits = rateLimitSettingsOf(flags);
  const audit = auditSettingsOf(flags);
  resolveConnectionLimits(connections); // a reserve as large as the cap is refused here
  return {
    runtime,
    ...(kubernetes ? { kubernetes } : {}),
    ...(Object.keys(connections).length > 0 ? { connections } : {}),
    ...(Object.keys(auth).length > 0 ? { auth } : {}),
    ...(flags.policyFile ? { policyFile: flags.policyFile } : {}),
    ...(Object.keys(rateLimits).length > 0 ? { rateLimits } : {}),
    ...(Object.keys(audit).length > 0 ? { audit } : {}),
    publicUrl: flags.publicUrl,
    registryDir: flags.registry,
    // Not given: startController picks by runtime (loopback, or every interface in a pod).
    host: sourceOf('host') === 'default' || sourceOf('host') === undefined ? undefined : flags.host,
    port: flags.port,
    databaseUrl: flags.databaseUrl,
    dataDir: flags.dataDir,
    ...(flags.keyHashingSecret ? { keyHashingSecret: flags.keyHashingSecret } : {}),
    redisUrl: flags.redisUrl,
    idleTimeoutMs: flags.idleTimeout,
    ...(flags.shutdownGrace !== undefined ? { shutdownGraceMs: flags.shutdownGrace } : {}),
    ...(flags.storeTimeout !== undefined ? { storeTimeoutMs: flags.storeTimeout } : {}),
    maxBodyBytes: flags.maxBody,
    allowedOrigins: flags.allowedOrigins,
    allowedHosts: flags.allowedHosts,
    logLevel: flags.logLevel,
    logFormat: resolveLogFormat(flags.logFormat, environment.stdoutIsTTY),
    ...(flags.logBuffer !== undefined ? { logBufferBytes: flags.logBuffer } : {}),
    ...(flags.serverLogRate !== undefined
      ? {
          fleet: {
            runtimeOptions: {
              outputRate: { linesPerSecond: flags.serverLogRate, burst: 10 * flags.serverLogRate },
            },
          },
        }
      : {}),
  };
}

/** fleet/create-fleet.ts RUNTIMES, without loading the runtimes to print --help. */
const RUNTIMES = ['local', 'kubernetes'] as const satisfies readonly RuntimeName[];
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new Error(`"${text}" is not a port: use a number from 0 to 65535`);
  }
  return port;
}

function parsePositiveNumber(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new Error(`"${text}" is not a positive number`);
  }
  return value;
}

function parseList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

const HOST_HELP = `
Host names: a request whose Host header is not on the list gets 403 (DNS-rebinding
protection; /healthz and /readyz are exempt, since the kubelet probes by pod IP).
  - loopback names: always
  - --public-url's host name: whenever it is given
  - bound to a non-loopback address (--runtime kubernetes binds ${KUBERNETES_DEFAULT_HOST}): this
    machine's interface addresses (the pod IP) and hostname (the pod name); with
    --runtime kubernetes also the Service: mcpfleet-controller, mcpfleet-controller.<ns>,
    mcpfleet-controller.<ns>.svc, mcpfleet-controller.<ns>.svc.cluster.local
  - --allowed-hosts: added to the above ("*" accepts any Host)
Bound to a non-loopback address with the local runtime and neither --public-url nor
--allowed-hosts, the names clients use are unknown, so any Host is accepted.
`;

const AUTH_HELP = `
Who may call (docs/runbooks/connect-your-identity-provider.md): with --auth-issuer, the MCP
endpoints and /api/v1 need "Authorization: Bearer <access token>" — a JWT of that issuer whose
aud is the endpoint (<public URL>/servers/<slug>/mcp) or the gateway (<public URL>); clients
find the issuer at <public URL>/.well-known/oauth-protected-resource/servers/<slug>/mcp.
Listening beyond loopback with no issuer (and no API keys) is refused unless --insecure-no-auth.
Who may use a server and which tools: its _meta "dev.mcpfleet/v1" access block (groups,
scopes, keys, tools.allow/deny), evaluated with Cedar; --policy-file adds Cedar rules across
servers (docs/authorization.md).
`;

const LIMITS_HELP = `
Limits per server (_meta "dev.mcpfleet/v1" sessions.maxPerClient, sessions.idleTimeout; see
README "What one client may take"), from the environment:
  MCPFLEET_CLIENT_HEADER    a client is its address; behind a proxy, name a header the proxy
                            sets (e.g. X-Real-IP) and a client is its address plus that value
  MCPFLEET_MIN_FREE_MEMORY  no new stdio server process while less memory is left (default
                            256MiB, 0 for no floor)
`;

const EXAMPLES = `
Examples:
  npm start
  npx mcpfleet serve --port 9000 --idle-timeout 2s
  DATABASE_URL=postgres://localhost/mcpfleet REDIS_URL=redis://localhost npx mcpfleet serve
  npx mcpfleet registry compile > specs/all.json && npx mcpfleet serve --registry specs
      # a directory of compiled specs (*.json arrays), as the cluster's ConfigMaps hold them
  mcpfleet serve --runtime kubernetes --port 8080
      # in the controller pod: namespace, pod name, registry, public URL and the connection
      # URLs come from MCPFLEET_* / DATABASE_URL / REDIS_URL (infra/manifests/platform.ts)
  npx mcpfleet serve --runtime kubernetes --namespace mcpfleet --kubeconfig ~/.kube/config \\
      --public-url https://mcp.example.com   # from a workstation, against a cluster`;

export function registerServeCommand(program: Command): Command {
  const serve = program
    .command('serve')
    .description(
      'Run the controller: the MCP gateway at /servers/<slug>/mcp, the management API at ' +
        '/api/v1, and every registered server, scaled from zero: as local processes, or as ' +
        'Deployments in a cluster (--runtime kubernetes)',
    )
    .addOption(
      new Option('--port <port>', 'port to listen on')
        .env('MCPFLEET_PORT')
        .default(DEFAULT_PORT)
        .argParser(parser(parsePort)),
    )
    .addOption(
      new Option('--host <address>', 'address to listen on')
        .env('MCPFLEET_HOST')
        .default(
          DEFAULT_HOST,
          `${DEFAULT_HOST}; ${KUBERNETES_DEFAULT_HOST} with --runtime kubernetes`,
        ),
    )
    .addOption(
      new Option(
        '--runtime <runtime>',
        'where servers run: local child processes, or Deployments in a Kubernetes namespace',
      )
        .env('MCPFLEET_RUNTIME')
        .choices(RUNTIMES)
        .default('local'),
    )
    .addOption(
      new Option(
        '--namespace <name>',
        'kubernetes runtime: the namespace of the server Deployments (required)',
      ).env('MCPFLEET_NAMESPACE'),
    )
    .addOption(
      new Option(
        '--pod-name <name>',
        "kubernetes runtime: this controller's pod, its identity among the replicas " +
          '(default: the hostname, which in a pod is its name)',
      ).env('MCPFLEET_POD_NAME'),
    )
    .addOption(
      new Option(
        '--kubeconfig <file>',
        'kubernetes runtime: how to reach the API server (default: in a pod, its service ' +
          "account's in-cluster config; elsewhere ~/.kube/config)",
      ).env('KUBECONFIG'),
    )
    .addOption(
      new Option(
        '--public-url <url>',
        'the URL clients reach this controller at (e.g. the Ingress); its host is accepted in Host headers',
      ).env('MCPFLEET_PUBLIC_URL'),
    )
    .addOption(
      new Option(
        '--registry <dir>',
        'registry directory: <slug>/server.json folders, or *.json files of compiled specs ' +
          '(a ConfigMap volume, reloaded when it changes); told apart by what it holds',
      )
        .env('MCPFLEET_REGISTRY_DIR')
        .default(DEFAULT_REGISTRY),
    )
    .addOption(
      new Option('--database-url <url>', 'PostgreSQL URL (default: embedded PGlite)').env(
        'DATABASE_URL',
      ),
    )
    .addOption(
      new Option('--data-dir <dir>', 'where embedded PGlite keeps its data').default(
        '.mcpfleet/pgdata',
      ),
    )
    .addOption(
      new Option(
        '--key-hashing-secret <secret>',
        'what API keys are hashed under, 32+ characters, the same on every replica (prefer the ' +
          'env: a flag shows in ps); on loopback without it one is generated beside --data-dir',
      ).env('MCPFLEET_KEY_HASHING_SECRET'),
    )
    .addOption(
      new Option('--redis-url <url>', 'Redis URL (default: in-process coordination)').env(
        'REDIS_URL',
      ),
    )
    .addOption(
      new Option('--idle-timeout <duration>', "override every server's idle timeout, e.g. 2s")
        .env('MCPFLEET_IDLE_TIMEOUT')
        .argParser(parser(parseDuration)),
    )
    .addOption(
      new Option(
        '--shutdown-grace <duration>',
        'on SIGTERM / Ctrl-C, how long calls in flight may finish before they end with an ' +
          'error; new requests get 503 meanwhile (default 20s; a second signal exits at once)',
      )
        .env('MCPFLEET_SHUTDOWN_GRACE')
        .argParser(parser(parseDuration)),
    )
    .addOption(
      new Option(
        '--store-timeout <duration>',
        'bound on each database call and on closing the database (default 10s)',
      )
        .env('MCPFLEET_STORE_TIMEOUT')
        .argParser(parser(parseDuration)),
    )
    .addOption(
      new Option('--max-body <size>', 'largest MCP request body, e.g. 4MiB (default 4MiB)')
        .env('MCPFLEET_MAX_BODY')
        .argParser(parser(parseByteSize)),
    )
    .addOption(
      new Option(
        '--allowed-origins <list>',
        'comma-separated browser Origins allowed besides loopback ones ("*" = any)',
      )
        .env('MCPFLEET_ALLOWED_ORIGINS')
        .argParser(parseList),
    )
    .addOption(
      new Option(
        '--allowed-hosts <list>',
        'comma-separated Host names (name or name:port) to accept besides the derived ones, see Host names below ("*" = any)',
      )
        .env('MCPFLEET_ALLOWED_HOSTS')
        .argParser(parseList),
    )
    .addOption(
      new Option('--log-level <level>', 'log level').env('MCPFLEET_LOG_LEVEL').choices(LOG_LEVELS),
    )
    .addOption(
      new Option(
        '--log-format <format>',
        'log lines as JSON (for machines), or pretty: time, level, [server] message; ' +
          'auto is pretty when stdout is a terminal',
      )
        .env('MCPFLEET_LOG_FORMAT')
        .choices(LOG_FORMATS)
        .default('auto'),
    )
    .addOption(
      new Option(
        '--log-buffer <size>',
        'log bytes held while stdout does not keep up; beyond, lines are dropped and a line ' +
          'says how many (default 8MiB)',
      )
        .env('MCPFLEET_LOG_BUFFER')
        .argParser(parser(parseByteSize)),
    )
    .addOption(
      new Option(
        '--server-log-rate <lines>',
        "lines per second of a server's process output logged, after a burst of 10 times " +
          'that; beyond, lines are counted, not logged, and the server is marked unhealthy ' +
          '("log flood") while it lasts (default 100)',
      )
        .env('MCPFLEET_SERVER_LOG_RATE')
        .argParser(parser(parsePositiveNumber)),
    );
  return addAuditOptions(addRateLimitOptions(addAuthOptions(addConnectionOptions(serve))))
    .addHelpText('after', `${HOST_HELP}${AUTH_HELP}${LIMITS_HELP}${RATE_LIMIT_HELP}${EXAMPLES}`)
    .action(async (flags: ServeFlags, command: Command) => {
      const { RegistryError, describeServers, startController } = await import('../../start.ts');
      let controller: RunningController;
      try {
        const options = serveStartOptions(flags, (key) => command.getOptionValueSource(key));
        controller = await startController(options);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        process.stderr.write(
          err instanceof RegistryError ? `${message}\n` : `mcpfleet serve: ${message}\n`,
        );
        process.exitCode = 1;
        return;
      }
      const servers = controller.fleet.list();
      const base = controller.publicUrl ?? controller.url;
      process.stdout.write(
        `mcpfleet controller listening on ${controller.url} ` +
          (controller.publicUrl ? `(public URL ${controller.publicUrl}) ` : '') +
          `(${servers.length} server${servers.length === 1 ? '' : 's'}; API ${base}/api/v1/servers)\n` +
          `${describeServers(base, servers).join('\n')}\n`,
      );
      let signals = 0;
      const shutdown = (signal: NodeJS.Signals): void => {
        signals += 1;
        if (signals > 1) {
          process.stderr.write(`mcpfleet: ${signal} again, exiting now\n`);
          process.exit(1);
        }
        controller.logger.info({ signal }, 'shutting down');
        controller.close().then(
          () => process.exit(0),
          (err: unknown) => {
            controller.logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', shutdown);
      process.on('SIGTERM', shutdown);
    });
}
