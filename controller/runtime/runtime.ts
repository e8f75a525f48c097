// Runtime: how a server's replica comes to exist. The fleet asks a runtime whether a spec
// can run here and to start a replica; it never spawns or schedules anything itself. The
// local runtime runs processes on this machine (runtime/local.ts); the Kubernetes runtime
// scales Deployments and hands out pod addresses (runtime/kubernetes/). The lifecycle above
// (fleet/managed-server.ts) is the same for both.
import type { ServerSpec } from '../../registry/catalog/spec.ts';

/** Whether a spec can run on this runtime, and if not, why (shown as `unavailable`). */
export type LaunchCheck = { ok: true } | { ok: false; reason: string };

export interface ReplicaExit {
  /** We asked it to stop (sleep, restart, shutdown); false means it crashed. */
  expected: boolean;
  /** One line for status and events, e.g. "exited with code 1: Error: no API key". */
  reason: string;
  /**
   * The server was put to sleep by someone else (the leader of several controller replicas
   * scaled it to zero): go to sleep locally too, without counting a crash.
   */
  sleptElsewhere?: boolean;
}

/** How a process behind a replica started: it answered initialize, or died first. */
export type ChildStart = { ok: true } | { ok: false; reason: string };

/** Callbacks a replica makes about the processes behind it. */
export interface ReplicaHooks {
  /**
   * A process behind the replica that had started serving died unexpectedly while the
   * replica lives on (one session's child behind a bridge): that session ends, nothing else.
   */
  onChildCrash?(reason: string): void;
  /** A process behind the replica answered initialize, or died before it did (failed start). */
  onChildStart?(outcome: ChildStart): void;
  /** Live child process count changed. */
  onChildCount?(count: number): void;
  /** `count` lines of the processes' output went unlogged, over the rate limit. */
  onOutputDropped?(stream: 'stdout' | 'stderr', count: number): void;
  /** The processes' output floods the log (a reason), or no longer does (null). */
  onOutputFlood?(reason: string | null): void;
}

/** One address sessions can be routed to. */
export interface Backend {
  id: string;
  url: string;
}

/** One running backend of a server. */
export interface Replica {
  id: string;
  /** The MCP endpoint, e.g. http://127.0.0.1:41234/mcp or a remote URL. */
  url: string;
  /** Headers the gateway adds upstream (remote auth headers). */
  headers: Record<string, string>;
  /** Settles when the replica is gone: it crashed, or after stop(). */
  exited: Promise<ReplicaExit>;
  /** Live child processes behind it (0 for remotes). */
  children(): number;
  /**
   * Where its processes listen beyond loopback, when they do (a sentence for status: the
   * server could not be confined to loopback); absent or undefined when confined.
   */
  exposure?(): string | undefined;
  /**
   * A runtime-specific readiness round trip, when it has a cheaper one than a full MCP
   * session (a sessionless ping through the bridge, answered by its warm child). Absent:
   * the fleet probes `url` itself (initialize + ping).
   */
  ready?(signal: AbortSignal): Promise<void>;
  /**
   * The backends behind this replica when it can have several (the pods of a Deployment),
   * each already answering MCP; sessions are routed to one of them by id. Absent: the replica
   * is its own single backend.
   */
  backends?(): Backend[];
  /** Asks for `count` backends (replicas follow sessions); absent where there is only one. */
  scale?(count: number): Promise<void>;
  /**
   * Takes the replica away; resolves once it no longer serves. `intent` says why, which
   * matters where replicas outlive the controller: "sleep" scales the server to zero,
   * "replace" (a crash or failed health: a new replica follows) and "shutdown" (this
   * controller exits; another one adopts the replica) leave a Deployment alone.
   * Local processes stop in every case.
   */
  stop(intent?: StopIntent): Promise<void>;
}

export type StopIntent = 'sleep' | 'replace' | 'shutdown';

export interface Runtime {
  check(spec: ServerSpec): LaunchCheck;
  /** `signal` is the wake deadline: a start still waiting for its replica gives up on it. */
  start(spec: ServerSpec, hooks?: ReplicaHooks, signal?: AbortSignal): Promise<Replica>;
  /**
   * Whether replicas of the server already run (a controller restarting in a cluster finds
   * servers awake): the fleet then adopts them instead of waiting for a request.
   */
  running?(spec: ServerSpec): boolean;
  /** For /readyz: whether the runtime can see what it runs (e.g. its informer is synced). */
  readiness?(): { ok: boolean; error?: string };
  /** Watches and connections the runtime needs before the first start (informers). */
  open?(): Promise<void>;
  close?(): Promise<void>;
}
