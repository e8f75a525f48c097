// The stdio bridge: a Streamable HTTP MCP endpoint in front of a stdio MCP server.
//
// One child process per MCP session (server state is per client): an `initialize` POST
// without a session spawns a child (or takes the warm spare) and mints MCP-Session-Id;
// later requests route by that id. Sessionless requests (revision 2026-07-28: no session,
// no initialize) go to a child per client (sessionless-pool.ts), initialized by the bridge
// itself — never to one child shared by every client — except a lone sessionless
// `ping`, which the warm spare answers (spare-ping.ts; MCP allows ping before initialize).
// GET /readyz is the fleet's wake check: a child of its own must answer initialize
// (readiness-endpoint.ts), since answering ping proves nothing about that. Bounded: a cap on
// children (503 + Retry-After), spawn errors answered as JSON-RPC errors, a child that dies
// fails its waiting requests at once, and every child is killed on DELETE, idle expiry,
// close and process exit. Host and Origin are checked as the gateway checks them
// (bridge-router.ts).
//
// This file assembles the pieces: the processes (bridge-children.ts), the sessions
// (session-table.ts), the sessionless pool, the spare's pings and the routes, and owns the
// HTTP server's life, from listen to close.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BridgeChildren } from './bridge-children.ts';
import { BRIDGE_CLOSED } from './bridge-leaving.ts';
import type { StdioBridge, StdioBridgeOptions } from './bridge-options.ts';
import { BridgeRouter } from './bridge-router.ts';
import { INTERNAL_ERROR } from './jsonrpc.ts';
import { readinessProof } from './readiness-endpoint.ts';
import type { ReadinessProof } from './readiness-proof.ts';
import { sendError } from './request-io.ts';
import { SessionTable } from './session-table.ts';
import { SessionlessPool, initializeSessionless } from './sessionless-pool.ts';
import { SparePings } from './spare-ping.ts';
import { describeExit } from './stdio-child.ts';

export { LATEST_PROTOCOL_VERSION } from './protocol-version.ts';
export type { ChildRole, StdioBridge, StdioBridgeOptions } from './bridge-options.ts';

export async function startStdioBridge(options: StdioBridgeOptions): Promise<StdioBridge> {
  const bridge = new Bridge(options);
  await bridge.listen();
  return bridge;
}

class Bridge implements StdioBridge {
  private readonly options: StdioBridgeOptions;
  private readonly children: BridgeChildren;
  private readonly sessions: SessionTable;
  /** Sessionless requests: a child per client, never one for all of them. */
  private readonly sessionless: SessionlessPool;
  private readonly pings: SparePings;
  private readonly router: BridgeRouter;
  private readonly readiness: ReadinessProof;
  /** Aborted at close: a readiness check under way stops with the bridge. */
  private readonly closed = new AbortController();
  readonly server: http.Server;
  private closing = false;
  private boundPort = 0;

  constructor(options: StdioBridgeOptions) {
    this.options = options;
    this.children = new BridgeChildren(options, (child, exit) => {
      this.pings.failPingsOf(child, `MCP server process ${describeExit(exit)}`);
      this.sessionless.exited(child);
    });
    this.pings = new SparePings(this.children);
    this.sessions = new SessionTable(this.children, this.pings, options);
    this.sessionless = new SessionlessPool({
      spawn: () => this.children.spawn('shared'),
      room: () => this.children.room(),
      initialize: initializeSessionless,
      maxBufferedBytes: options.maxBufferedBytes,
      killGraceMs: options.killGraceMs,
      max: options.maxSessionless,
      idleMs: options.sessionlessIdleMs,
    });
    this.readiness = readinessProof(this.children, {
      killGraceMs: options.killGraceMs,
      closed: this.closed.signal,
    });
    this.router = new BridgeRouter(options, {
      children: this.children,
      sessions: this.sessions,
      sessionless: this.sessionless,
      pings: this.pings,
      readiness: this.readiness,
      closing: () => this.closing,
    });
    this.server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      this.router.handle(req, res).catch((err: unknown) => {
        options.logger.error({ err }, 'bridge request failed');
        if (!res.headersSent) sendError(res, 500, null, INTERNAL_ERROR, 'internal bridge error');
        else res.end();
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    const host = this.options.host ?? '127.0.0.1';
    const shown = host.includes(':') ? `[${host}]` : host;
    return `http://${shown}:${this.boundPort}${this.router.path}`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    this.sessions.sweepEvery(this.options.sessionIdleMs ?? 30 * 60_000);
    this.children.ensureSpare();
    // Proven now, alongside the spare's boot: in a pod, the answer is there by the time a
    // controller asks (it learns of the pod later), instead of starting a process then.
    if (this.options.proveOnListen) void this.readiness.begin(this.options.readinessTimeoutMs);
  }

  childCount(): number {
    return this.children.size;
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  childPids(): number[] {
    return this.children.pids();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.closed.abort();
    this.sessionless.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.sessions.failAll(BRIDGE_CLOSED);
    this.server.closeAllConnections();
    await this.children.stopAll(this.options.killGraceMs);
    await closed;
  }
}
