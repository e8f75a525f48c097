// Runtime: how a server's replica comes to exist. The fleet asks a runtime whether a spec
// can run here and to start a replica; it never spawns or schedules anything itself. The
// local runtime runs processes on this machine; a Kubernetes runtime scales Deployments.
import type { ServerSpec } from '../../registry/catalog/spec.ts';

/** Whether a spec can run on this runtime, and if not, why (shown as `unavailable`). */
export type LaunchCheck = { ok: true } | { ok: false; reason: string };

export interface ReplicaExit {
  /** We asked it to stop (sleep, restart, shutdown); false means it crashed. */
  expected: boolean;
  /** One line for status and events, e.g. "exited with code 1: Error: no API key". */
  reason: string;
}

/** Callbacks a replica makes about the processes behind it. */
export interface ReplicaHooks {
  /** A process behind the replica died unexpectedly while the replica lives on (bridge). */
  onChildCrash?(reason: string): void;
  /** Live child process count changed. */
  onChildCount?(count: number): void;
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
   * A runtime-specific readiness round trip, when it has a cheaper one than a full MCP
   * session (a sessionless ping through the bridge, answered by its warm child). Absent:
   * the fleet probes `url` itself (initialize + ping).
   */
  ready?(signal: AbortSignal): Promise<void>;
  /** Stops everything behind it; resolves once the processes are gone. */
  stop(): Promise<void>;
}

export interface Runtime {
  check(spec: ServerSpec): LaunchCheck;
  start(spec: ServerSpec, hooks?: ReplicaHooks): Promise<Replica>;
}
