// What `startStdioBridge` takes and gives back: the bridge's settings, the roles its
// processes play, and the handle its owner (the local runtime, `mcpfleet bridge`) holds.
// Apart from the bridge's code so every piece of it reads the same settings without
// importing the assembly (stdio-bridge.ts).
import type http from 'node:http';
import type { Logger } from '../observability/log.ts';
import type { ChildCommand, ChildExit } from './stdio-child.ts';

export interface StdioBridgeOptions {
  command: ChildCommand;
  logger: Logger;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: the OS picks a free port. */
  port?: number;
  /** MCP endpoint path, default /mcp. */
  path?: string;
  /** Live children (sessions + sessionless + spare) at most; default 64. */
  maxChildren?: number;
  /**
   * No new child while less memory than this is left (memory-floor.ts); default
   * MCPFLEET_MIN_FREE_MEMORY or 256 MiB, 0 for none.
   */
  minFreeMemoryBytes?: number;
  /** Sessionless children (one per client) at most; default 8 (sessionless-pool.ts). */
  maxSessionless?: number;
  /** A sessionless child unused this long is stopped; default 5 min. */
  sessionlessIdleMs?: number;
  /** A session with no request for this long is closed and its child killed; default 30 min. */
  sessionIdleMs?: number;
  /**
   * How long a POST's SSE stream that broke before its answer waits for the client to
   * resume it (GET with Last-Event-ID) before its requests are cancelled; default 30 s.
   */
  resumeGraceMs?: number;
  /** Children spawned ahead of the next initialize (0 or 1), hiding spawn time; default 1. */
  warmSpares?: number;
  /** Request bodies above this get 413; default 4 MiB. */
  maxBodyBytes?: number;
  /**
   * Host and Origin values accepted besides loopback ones, as the gateway's (OriginPolicy):
   * a page on a foreign site must not reach this port through DNS rebinding either.
   */
  allowedHosts?: readonly string[];
  allowedOrigins?: readonly string[];
  /** Grace between SIGTERM and SIGKILL when stopping a child; default 1500 ms. */
  killGraceMs?: number;
  /**
   * Start the readiness proof when the bridge listens, before anyone asks (a pod's bridge:
   * the controller learns of the pod later, and finds the answer there); default false,
   * where the wake check comes at once anyway (the local runtime's bridge).
   */
  proveOnListen?: boolean;
  /** The limit of that early proof; default 10 s. */
  readinessTimeoutMs?: number;
  /**
   * Bytes one exchange's response may hold unsent (its client does not read) before the
   * bridge ends it with a JSON-RPC error; default 4 MiB. A session's own child is paused
   * well before that, while the response cannot take more.
   */
  maxBufferedBytes?: number;
  /** The largest message a child may send (larger ones are dropped, answered with an error); default 16 MiB. */
  maxMessageBytes?: number;
  /**
   * Every child exit, including expected ones (exit.expected). `started`: it had answered
   * initialize (child-start.ts); an unexpected exit before that is a failed start.
   */
  onChildExit?: (exit: ChildExit, role: ChildRole, started: boolean) => void;
  /** A child answered its first initialize: the server started, once more. */
  onChildStarted?: () => void;
  /** The number of live children changed. */
  onChildCount?: (count: number) => void;
}

export type ChildRole = 'session' | 'shared' | 'spare' | 'probe';

export interface StdioBridge {
  /** http://host:port/path */
  readonly url: string;
  readonly port: number;
  /** Its HTTP server (tests look at the responses it writes). */
  readonly server: http.Server;
  childCount(): number;
  sessionCount(): number;
  childPids(): number[];
  close(): Promise<void>;
}
