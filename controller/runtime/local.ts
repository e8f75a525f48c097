// The local runtime: each replica is processes on this machine.
//   stdio            → an in-process stdio bridge on a loopback port (one child per session)
//   streamable-http  → the server itself on a loopback port we allocate (e.g. PORT=41234),
//                      bound to loopback through its own variables (loopback-confinement.ts)
//   remote           → no process; the upstream is the remote URL plus its headers
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import {
  POD_BIND_ADDRESS,
  type RemoteSpec,
  type ServerSpec,
  type WorkloadSpec,
} from '../../registry/catalog/spec.ts';
import { startStdioBridge } from '../bridge/stdio-bridge.ts';
import { signalGroup, spawnInGroup, terminateGroup } from '../bridge/process-group.ts';
import { describeExit } from '../bridge/stdio-child.ts';
import { outputLog } from '../bridge/output-log.ts';
import type { Logger } from '../observability/log.ts';
import {
  OutputRateLimit,
  attachOutputRateLimit,
  type OutputRateOptions,
} from '../observability/output-rate-limit.ts';
import { waitUntilBridgeReady } from '../health/wait-ready.ts';
import { childEnvironment } from './child-environment.ts';
import { bridgeChildCap } from '../sessions/session-limits.ts';
import { LOOPBACK, watchExposure } from './loopback-confinement.ts';
import { resolveLaunch, PROJECT_ROOT, type ResolvedLaunch } from './launch-plan.ts';
import type { LaunchCheck, Replica, ReplicaExit, ReplicaHooks, Runtime } from './runtime.ts';

export interface LocalRuntimeOptions {
  logger: Logger;
  /**
   * The controller's environment: where declared secrets and the platform variables a child
   * gets are read from (child-environment.ts), and PATH lookups; default process.env.
   */
  environment?: NodeJS.ProcessEnv;
  /** Variables of `environment` every child gets besides the platform's (by exact name). */
  passEnvironment?: readonly string[];
  /** Where node_modules lives; default the project root. */
  projectRoot?: string;
  /** Per-server cap on stdio children; default the server's session capacity + 2. */
  maxChildrenPerServer?: number;
  /** Spawn one stdio child ahead of the next session (hides spawn time); default 1. */
  warmSpares?: number;
  /** Grace between SIGTERM and SIGKILL; default 1500 ms. */
  killGraceMs?: number;
  /** The largest message a stdio child may send; default 16 MiB (stdio-child.ts). */
  maxMessageBytes?: number;
  /** How many lines of a replica's output are logged (output-rate-limit.ts). */
  outputRate?: OutputRateOptions;
}

/** One initialize + ping attempt of the wake check's fallback. */
const READY_ATTEMPT_MS = 5_000;

export class LocalRuntime implements Runtime {
  private readonly options: LocalRuntimeOptions;

  constructor(options: LocalRuntimeOptions) {
    this.options = options;
  }

  check(spec: ServerSpec): LaunchCheck {
    if (spec.kind === 'remote') {
      const headers = remoteHeaders(spec, this.environment);
      return headers.ok ? { ok: true } : { ok: false, reason: headers.reason };
    }
    if (spec.transport.type === 'sse') {
      return {
        ok: false,
        reason: 'the legacy SSE transport is not supported by the local runtime',
      };
    }
    const resolved = resolveLaunch(spec, this.environment, this.projectRoot);
    return resolved.ok ? { ok: true } : resolved;
  }

  async start(spec: ServerSpec, hooks: ReplicaHooks = {}): Promise<Replica> {
    const id = `${spec.slug}-${randomBytes(4).toString('hex')}`;
    if (spec.kind === 'remote') return this.startRemote(spec, id);
    const resolved = resolveLaunch(spec, this.environment, this.projectRoot);
    if (!resolved.ok) throw new Error(resolved.reason);
    const logger = this.options.logger.child({ server: spec.slug, replica: id });
    // One limit for everything the replica's processes print, whichever process and stream.
    const output = new OutputRateLimit(logger, spec.slug, this.options.outputRate, {
      onDropped: (stream, count) => hooks.onOutputDropped?.(stream, count),
      onFlood: (reason) => hooks.onOutputFlood?.(reason),
    });
    attachOutputRateLimit(logger, output);
    const replica = await (
      spec.transport.type === 'stdio'
        ? this.startBridge(id, resolved.launch, logger, hooks, spec)
        : this.startHttp(spec, id, resolved.launch, logger, hooks)
    ).catch((err: unknown) => {
      output.close();
      throw err;
    });
    void replica.exited.then(() => output.close());
    return replica;
  }

  private get environment(): NodeJS.ProcessEnv {
    return this.options.environment ?? process.env;
  }

  /** Never the controller's whole environment: the platform's, then the server's own. */
  private childEnvironment(launch: ResolvedLaunch): Record<string, string> {
    return childEnvironment(this.environment, launch.env, this.options.passEnvironment);
  }

  private get projectRoot(): string {
    return this.options.projectRoot ?? PROJECT_ROOT;
  }

  private startRemote(spec: RemoteSpec, id: string): Replica {
    const headers = remoteHeaders(spec, this.environment);
    if (!headers.ok) throw new Error(headers.reason);
    let stopped: (exit: ReplicaExit) => void = () => {};
    const exited = new Promise<ReplicaExit>((resolve) => (stopped = resolve));
    return {
      id,
      url: spec.upstream.url,
      headers: headers.headers,
      exited,
      children: () => 0,
      stop: async () => stopped({ expected: true, reason: 'stopped' }),
    };
  }

  private async startBridge(
    id: string,
    launch: ResolvedLaunch,
    logger: Logger,
    hooks: ReplicaHooks,
    spec: WorkloadSpec,
  ): Promise<Replica> {
    const bridge = await startStdioBridge({
      command: {
        command: launch.command,
        args: launch.args,
        env: this.childEnvironment(launch),
        cwd: this.projectRoot,
      },
      logger,
      // Sessions the server takes (_meta scaling) plus the controller's own processes.
      maxChildren: this.options.maxChildrenPerServer ?? bridgeChildCap(spec),
      warmSpares: spec.warmSpare ? (this.options.warmSpares ?? 1) : 0,
      killGraceMs: this.options.killGraceMs,
      maxMessageBytes: this.options.maxMessageBytes,
      onChildExit: (exit, _role, started) => {
        if (exit.expected) return;
        if (started) hooks.onChildCrash?.(describeExit(exit));
        else hooks.onChildStart?.({ ok: false, reason: describeExit(exit) });
      },
      onChildStarted: () => hooks.onChildStart?.({ ok: true }),
      onChildCount: (count) => hooks.onChildCount?.(count),
    });
    let stopped: (exit: ReplicaExit) => void = () => {};
    const exited = new Promise<ReplicaExit>((resolve) => (stopped = resolve));
    return {
      id,
      url: bridge.url,
      headers: {},
      exited,
      children: () => bridge.childCount(),
      ready: (signal) =>
        waitUntilBridgeReady(bridge.url, signal, { retry: false, timeoutMs: READY_ATTEMPT_MS }),
      stop: async () => {
        await bridge.close();
        stopped({ expected: true, reason: 'stopped' });
      },
    };
  }

  private async startHttp(
    spec: WorkloadSpec,
    id: string,
    launch: ResolvedLaunch,
    logger: Logger,
    hooks: ReplicaHooks,
  ): Promise<Replica> {
    const transport = spec.transport as Extract<WorkloadSpec['transport'], { port: number }>;
    const port = await freeLoopbackPort();
    const variable = transport.portVariable ?? 'PORT';
    const { hostVariable } = transport;
    // The port and the bind address may also be arguments (--port 8080 --host 0.0.0.0): the
    // spec's values, set for a pod, are swapped for ours.
    const args = launch.args.map((arg) =>
      arg === String(transport.port)
        ? String(port)
        : hostVariable && arg === POD_BIND_ADDRESS
          ? LOOPBACK
          : arg,
    );
    const child = spawnInGroup(launch.command, args, {
      cwd: this.projectRoot,
      env: {
        ...this.childEnvironment(launch),
        [variable]: String(port),
        // Many servers read HOST; one that names its own variable gets it there.
        HOST: LOOPBACK,
        ...(hostVariable ? { [hostVariable]: LOOPBACK } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exposure = watchExposure(child, port, hostVariable, logger);
    let stopping = false;
    let stderrTail = '';
    // An HTTP server's stdout is not the protocol: both streams are its log, line by line,
    // through the logger bound to { server, replica }.
    for (const stream of ['stdout', 'stderr'] as const) {
      const output = outputLog(logger, stream);
      child[stream]?.setEncoding('utf8');
      child[stream]?.on('data', (text: string) => {
        if (stream === 'stderr') stderrTail = (stderrTail + text).slice(-2000);
        output.write(text);
      });
      child[stream]?.on('end', () => output.end());
    }
    hooks.onChildCount?.(1);
    const exited = new Promise<ReplicaExit>((resolve) => {
      const done = (code: number | null, signal: string | null, spawnError?: string) => {
        hooks.onChildCount?.(0);
        const reason = describeExit({
          code,
          signal,
          expected: stopping,
          stderrTail,
          ...(spawnError ? { spawnError } : {}),
        });
        if (!stopping) logger.warn({ code, signal }, `MCP server process ${reason}`);
        resolve({ expected: stopping, reason });
      };
      child.once('error', (err) => {
        if (child.pid === undefined) done(null, null, err.message);
      });
      child.once('exit', (code, signal) => done(code, signal));
    });
    return {
      id,
      url: `http://${LOOPBACK}:${port}${transport.path}`,
      headers: {},
      exited,
      exposure: () => exposure.current(),
      children: () =>
        child.exitCode === null && child.signalCode === null && child.pid !== undefined ? 1 : 0,
      stop: async () => {
        stopping = true;
        await terminateGroup(child, this.options.killGraceMs);
        signalGroup(child, 'SIGKILL');
        await exited;
      },
    };
  }
}

function remoteHeaders(
  spec: RemoteSpec,
  environment: NodeJS.ProcessEnv,
): { ok: true; headers: Record<string, string> } | { ok: false; reason: string } {
  const headers = { ...spec.upstream.headers };
  const missing: string[] = [];
  for (const ref of spec.upstream.secretHeaders) {
    // Locally a Secret key is read from the environment variable of the same name,
    // upper-cased (token → TOKEN), or the exact key.
    const envName = ref.key.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    const value = environment[envName] ?? environment[ref.key];
    if (value === undefined) missing.push(envName);
    else headers[ref.env] = value;
  }
  if (missing.length > 0)
    return { ok: false, reason: `needs the secret environment variable(s) ${missing.join(', ')}` };
  return { ok: true, headers };
}

/** A free TCP port on 127.0.0.1 (the OS picks it; we release it for the child to bind). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
