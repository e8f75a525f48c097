// The stdio bridge: a Streamable HTTP MCP endpoint in front of a stdio MCP server.
//
// One child process per MCP session (server state is per client): an `initialize` POST
// without a session spawns a child (or takes the warm spare) and mints MCP-Session-Id;
// later requests route by that id. Sessionless requests (revision 2026-07-28: no session,
// no initialize) go to a child per client (sessionless-pool.ts), initialized by the bridge
// itself — never to one child shared by every client — except a lone sessionless
// `ping`, which the warm spare answers (MCP allows ping before initialize). GET /readyz is the
// fleet's wake check: a child of its own must answer initialize (initialize-check.ts), since
// answering ping proves nothing about that. Bounded: a cap on children
// (503 + Retry-After), spawn errors answered as JSON-RPC errors, a child that dies fails
// its waiting requests at once, and every child is killed on DELETE, idle expiry, close
// and process exit. Host and Origin are checked as the gateway checks them (a page on a
// foreign site reaching this loopback port through DNS rebinding gets 403).
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SERVER_ERROR, duplicateRequestIdProblem } from '../gateway/jsonrpc.ts';
import { OriginPolicy } from '../gateway/validate-request.ts';
import type { Logger } from '../observability/log.ts';
import { BridgeSession, newSessionId } from './bridge-session.ts';
import {
  INTERNAL_ERROR,
  INVALID_REQUEST,
  PARSE_ERROR,
  SERVER_UNAVAILABLE,
  SESSION_NOT_FOUND,
  errorResponse,
  isRequest,
  parseBody,
  type JsonRpcId,
  type JsonRpcMessage,
} from './jsonrpc.ts';
import { hasStarted, whenStarted } from './child-start.ts';
import { checkInitializes } from './initialize-check.ts';
import { PostExchange } from './post-exchange.ts';
import { MemoryFloor } from './memory-floor.ts';
import { SessionlessFullError, SessionlessPool } from './sessionless-pool.ts';
import { BRIDGE_CLIENT_HEADER } from '../sessions/client-key.ts';
import { StdioChild, describeExit, type ChildCommand, type ChildExit } from './stdio-child.ts';

export const LATEST_PROTOCOL_VERSION = '2025-11-25';

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

const RETRY_AFTER_SECONDS = 1;

export async function startStdioBridge(options: StdioBridgeOptions): Promise<StdioBridge> {
  const bridge = new Bridge(options);
  await bridge.listen();
  return bridge;
}

class Bridge implements StdioBridge {
  private readonly options: StdioBridgeOptions;
  private readonly policy: OriginPolicy;
  private readonly logger: Logger;
  private readonly path: string;
  private readonly maxChildren: number;
  private readonly maxBodyBytes: number;
  private readonly resumeGraceMs: number;
  private readonly sessions = new Map<string, BridgeSession>();
  private readonly children = new Set<StdioChild>();
  readonly server: http.Server;
  private spare: StdioChild | undefined;
  /** Sessionless requests: a child per client, never one for all of them. */
  private readonly sessionless: SessionlessPool;
  private readonly memory: MemoryFloor;
  private sweeper: NodeJS.Timeout | undefined;
  private closing = false;
  private boundPort = 0;
  /** Sessionless pings waiting for the spare's answer, by the bridge-owned id. */
  private readonly sparePings = new Map<string, PendingPing>();
  private pingCounter = 0;

  constructor(options: StdioBridgeOptions) {
    this.options = options;
    this.policy = new OriginPolicy({
      listenHost: options.host ?? '127.0.0.1',
      allowedHosts: options.allowedHosts,
      allowedOrigins: options.allowedOrigins,
    });
    this.logger = options.logger;
    this.path = options.path ?? '/mcp';
    this.maxChildren = Math.max(1, options.maxChildren ?? 64);
    this.maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
    this.resumeGraceMs = options.resumeGraceMs ?? 30_000;
    this.memory = new MemoryFloor(options.minFreeMemoryBytes, this.logger);
    this.sessionless = new SessionlessPool({
      spawn: () => this.spawn('shared'),
      room: () => this.room(),
      initialize: (session, version) => this.initializeSessionless(session, version),
      maxBufferedBytes: options.maxBufferedBytes,
      killGraceMs: options.killGraceMs,
      max: options.maxSessionless,
      idleMs: options.sessionlessIdleMs,
    });
    this.server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.logger.error({ err }, 'bridge request failed');
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
    return `http://${shown}:${this.boundPort}${this.path}`;
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
    const idleMs = this.options.sessionIdleMs ?? 30 * 60_000;
    this.sweeper = setInterval(() => this.sweepIdle(idleMs), Math.min(idleMs / 2, 60_000));
    this.sweeper.unref();
    this.ensureSpare();
  }

  childCount(): number {
    return this.children.size;
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  childPids(): number[] {
    return [...this.children].map((c) => c.pid).filter((pid): pid is number => pid !== undefined);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sessionless.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions.values()) session.fail(undefined, 'MCP bridge closed');
    this.sessions.clear();
    this.server.closeAllConnections();
    const grace = this.options.killGraceMs;
    await Promise.all([...this.children].map((child) => child.stop(grace)));
    await closed;
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === '/healthz' && req.method === 'GET') {
      const body = JSON.stringify({ ok: true, children: this.children.size });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      return;
    }
    const verdict = this.policy.check(req.headers.host, header(req, 'origin'));
    if (!verdict.ok) {
      sendError(res, 403, null, SERVER_ERROR, `Forbidden: ${verdict.reason}`);
      return;
    }
    if (path === '/readyz' && req.method === 'GET') return this.handleReadyz(url, res);
    if (path !== this.path) {
      sendError(res, 404, null, INVALID_REQUEST, `no MCP endpoint at ${path}; use ${this.path}`);
      return;
    }
    if (this.closing) {
      sendError(res, 503, null, SERVER_UNAVAILABLE, 'MCP bridge is shutting down', {
        'retry-after': String(RETRY_AFTER_SECONDS),
      });
      return;
    }
    const sessionId = header(req, 'mcp-session-id');
    switch (req.method) {
      case 'POST':
        return this.handlePost(req, res, sessionId);
      case 'GET':
        return this.handleGet(req, res, sessionId);
      case 'DELETE':
        return this.handleDelete(res, sessionId);
      default:
        res.setHeader('allow', 'GET, POST, DELETE');
        sendError(res, 405, null, INVALID_REQUEST, `method ${req.method} not allowed`);
    }
  }

  private async handlePost(
    req: IncomingMessage,
    res: ServerResponse,
    sessionId: string | undefined,
  ): Promise<void> {
    const contentType = header(req, 'content-type');
    if (contentType !== undefined && !contentType.includes('application/json')) {
      sendError(res, 415, null, INVALID_REQUEST, 'Content-Type must be application/json');
      return;
    }
    const body = await readBody(req, this.maxBodyBytes);
    if (body === undefined) {
      sendError(res, 413, null, INVALID_REQUEST, `request body above ${this.maxBodyBytes} bytes`);
      return;
    }
    let messages: JsonRpcMessage[];
    let batch: boolean;
    try {
      ({ messages, batch } = parseBody(body));
    } catch (err) {
      sendError(res, 400, null, PARSE_ERROR, `invalid JSON-RPC: ${(err as Error).message}`);
      return;
    }
    const duplicate = duplicateRequestIdProblem(messages);
    if (duplicate !== undefined) {
      sendError(res, 400, null, INVALID_REQUEST, duplicate);
      return;
    }
    const rawSingle = !batch && !/[\r\n]/.test(body) ? body : undefined;
    const ids = messages.filter(isRequest).map((m) => m.id as JsonRpcId);
    const accept = header(req, 'accept') ?? '';

    if (sessionId !== undefined) {
      const session = this.sessions.get(sessionId);
      if (!session || session.closed) {
        sendError(res, 404, ids[0] ?? null, SESSION_NOT_FOUND, 'Session not found');
        return;
      }
      this.dispatch(session, messages, batch, ids, accept, res, {}, rawSingle);
      return;
    }

    if (messages.some((m) => m.method === 'initialize')) {
      const session = this.openSession();
      if (!session) {
        this.rejectFull(res, ids[0] ?? null);
        return;
      }
      const headers = { 'mcp-session-id': session.id };
      this.dispatch(session, messages, batch, ids, accept, res, headers, rawSingle);
      // The next spare is spawned once this initialize has been answered, not before: starting
      // a process competes for the CPU with the very child answering it (it was the biggest
      // part of a woken server's first-request latency).
      res.once('close', () => this.ensureSpare());
      return;
    }

    const lone = batch ? undefined : messages[0];
    if (lone !== undefined && lone.method === 'ping' && isRequest(lone)) {
      await this.answerPingFromSpare(lone.id as JsonRpcId, res);
      return;
    }

    let sessionless: Awaited<ReturnType<SessionlessPool['acquire']>>;
    try {
      sessionless = await this.sessionless.acquire(
        header(req, BRIDGE_CLIENT_HEADER),
        header(req, 'mcp-protocol-version'),
      );
    } catch (err) {
      if (err instanceof SessionlessFullError) {
        this.rejectFull(res, ids[0] ?? null, err.message);
        return;
      }
      sendError(res, 502, ids[0] ?? null, INTERNAL_ERROR, (err as Error).message);
      return;
    }
    res.once('close', sessionless.done);
    this.dispatch(sessionless.session, messages, batch, ids, accept, res, {}, undefined);
  }

  private dispatch(
    session: BridgeSession,
    messages: JsonRpcMessage[],
    batch: boolean,
    ids: JsonRpcId[],
    accept: string,
    res: ServerResponse,
    headers: Record<string, string>,
    rawSingle: string | undefined,
  ): void {
    if (ids.length === 0) {
      session.forward(messages, undefined, rawSingle);
      res.writeHead(202, headers).end();
      return;
    }
    const exchange = new PostExchange({
      res,
      ids,
      batch,
      accept,
      headers,
      limits: session.limits,
      // Sessionless requests have no session to come back to with Last-Event-ID.
      ...(session.shared
        ? {}
        : { streamNo: session.nextStreamNo(), resumeGraceMs: this.resumeGraceMs }),
    });
    session.forward(messages, exchange, rawSingle);
  }

  private handleGet(
    req: IncomingMessage,
    res: ServerResponse,
    sessionId: string | undefined,
  ): void {
    if (sessionId === undefined) {
      res.setHeader('allow', 'POST');
      sendError(res, 405, null, INVALID_REQUEST, 'GET needs an MCP-Session-Id');
      return;
    }
    if (!(header(req, 'accept') ?? '').includes('text/event-stream')) {
      sendError(res, 406, null, INVALID_REQUEST, 'GET must accept text/event-stream');
      return;
    }
    const session = this.sessions.get(sessionId);
    if (!session || session.closed) {
      sendError(res, 404, null, SESSION_NOT_FOUND, 'Session not found');
      return;
    }
    if (!session.attachStream(res, header(req, 'last-event-id'))) {
      sendError(res, 409, null, INVALID_REQUEST, 'a GET stream is already open for this session');
    }
  }

  private async handleDelete(res: ServerResponse, sessionId: string | undefined): Promise<void> {
    if (sessionId === undefined) {
      sendError(res, 400, null, INVALID_REQUEST, 'DELETE needs an MCP-Session-Id');
      return;
    }
    const session = this.sessions.get(sessionId);
    if (!session) {
      sendError(res, 404, null, SESSION_NOT_FOUND, 'Session not found');
      return;
    }
    await this.closeSession(session, 'session deleted by the client');
    res.writeHead(200).end();
  }

  // ---- readiness: a child of its own answers initialize ----

  /**
   * GET /readyz[?timeout=<ms>]: 200 once a fresh child answered initialize and ping (then it is
   * stopped), else 503 with the reason (it died: its exit and stderr; it did not answer
   * initialize in time). The fleet's wake check of a stdio server.
   */
  private async handleReadyz(url: string, res: ServerResponse): Promise<void> {
    const asked = Number(new URL(url, 'http://bridge').searchParams.get('timeout'));
    const timeoutMs = Number.isFinite(asked) && asked > 0 ? Math.min(asked, 600_000) : 10_000;
    const reply = (status: number, body: object): void => {
      if (!res.destroyed)
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (this.closing) return reply(503, { ok: false, error: 'MCP bridge is shutting down' });
    if (this.children.size >= this.maxChildren)
      return reply(503, {
        ok: false,
        error: `MCP bridge at capacity (${this.maxChildren} processes)`,
      });
    const closed = new AbortController();
    res.once('close', () => closed.abort());
    const check = await checkInitializes(this.spawn('probe'), {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      timeoutMs,
      signal: closed.signal,
      killGraceMs: this.options.killGraceMs,
    });
    reply(check.ok ? 200 : 503, check);
  }

  // ---- the sessionless ping ----

  /** Answers a sessionless ping with the warm spare's own reply (spawning one if needed). */
  private async answerPingFromSpare(id: JsonRpcId, res: ServerResponse): Promise<void> {
    if (!this.spare && this.room() === undefined) this.spare = this.spawn('spare');
    const spare = this.spare;
    if (!spare) {
      this.rejectFull(res, id);
      return;
    }
    const closed = new AbortController();
    res.once('close', () => closed.abort());
    try {
      const reply = await this.pingChild(spare, closed.signal);
      const answer = {
        jsonrpc: '2.0',
        id,
        ...('error' in reply ? { error: reply.error } : { result: reply.result ?? {} }),
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    } catch (err) {
      if (res.destroyed) return;
      sendError(res, 502, id, SERVER_UNAVAILABLE, (err as Error).message);
    }
  }

  /**
   * Pings an uninitialized child under a bridge-owned id, so concurrent pings (and the
   * client's own ids) never collide. Rejects if the child dies, is taken by a session
   * before answering, or `signal` aborts.
   */
  private pingChild(child: StdioChild, signal: AbortSignal): Promise<JsonRpcMessage> {
    const id = `mcpfleet-ping-${++this.pingCounter}`;
    return new Promise<JsonRpcMessage>((resolve, reject) => {
      const settle = (): void => {
        this.sparePings.delete(id);
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        settle();
        reject(signal.reason instanceof Error ? signal.reason : new Error('ping aborted'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.sparePings.set(id, {
        child,
        answer: (message) => {
          settle();
          resolve(message);
        },
        fail: (reason) => {
          settle();
          reject(new Error(reason));
        },
      });
      child.onMessage = (message) => {
        if (typeof message.id === 'string') this.sparePings.get(message.id)?.answer(message);
      };
      child.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' }));
    });
  }

  /** Fails the pings still waiting on `child` (it died, or a session took it). */
  private failPingsOf(child: StdioChild, reason: string): void {
    for (const ping of [...this.sparePings.values()]) {
      if (ping.child === child) ping.fail(reason);
    }
  }

  // ---- children and sessions ----

  private openSession(): BridgeSession | undefined {
    let child = this.spare;
    this.spare = undefined;
    if (child) this.failPingsOf(child, 'the process was handed to a new session; retry');
    if (!child) {
      if (this.room() !== undefined) return undefined;
      child = this.spawn();
    }
    const session = new BridgeSession(newSessionId(), child, false, this.options.maxBufferedBytes);
    this.sessions.set(session.id, session);
    void child.exited.then(() => {
      if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    });
    return session;
  }

  /** A sessionless child is initialized by the bridge itself (its clients never do). */
  private async initializeSessionless(
    session: BridgeSession,
    protocolVersion: string | undefined,
  ): Promise<void> {
    const reply = await session.request('initialize', {
      protocolVersion: protocolVersion ?? LATEST_PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'mcpfleet-bridge', version: '1' },
    });
    if (reply.error !== undefined)
      throw new Error(`the MCP server refused initialize: ${JSON.stringify(reply.error)}`);
    session.notify('notifications/initialized');
  }

  /** Why no child may start now — the cap on children, the memory floor — or undefined. */
  private room(): string | undefined {
    if (this.children.size >= this.maxChildren)
      return `MCP bridge at capacity (${this.maxChildren} processes)`;
    return this.memory.refusal();
  }

  private spawn(role: ChildRole = 'session'): StdioChild {
    const child = new StdioChild(this.options.command, this.logger, {
      maxMessageBytes: this.options.maxMessageBytes,
    });
    this.children.add(child);
    this.options.onChildCount?.(this.children.size);
    let currentRole = role;
    whenStarted(child, () => this.options.onChildStarted?.());
    void child.exited.then((exit) => {
      this.children.delete(child);
      this.failPingsOf(child, `MCP server process ${describeExit(exit)}`);
      // A spare taken by a session exits as a session.
      if (this.spare === child) this.spare = undefined;
      else if (currentRole === 'spare') currentRole = 'session';
      this.sessionless.exited(child);
      const level = exit.expected ? 'debug' : 'warn';
      this.logger[level](
        { pid: child.pid, code: exit.code, signal: exit.signal, role: currentRole },
        `MCP server process ${describeExit(exit)}`,
      );
      this.options.onChildCount?.(this.children.size);
      this.options.onChildExit?.(exit, currentRole, hasStarted(child));
    });
    return child;
  }

  private ensureSpare(): void {
    if ((this.options.warmSpares ?? 1) < 1 || this.spare || this.closing) return;
    if (this.room() !== undefined) return;
    this.spare = this.spawn('spare');
  }

  private async closeSession(session: BridgeSession, reason: string): Promise<void> {
    this.sessions.delete(session.id);
    session.fail(undefined, reason);
    await session.child.stop(this.options.killGraceMs);
  }

  private sweepIdle(idleMs: number): void {
    const cutoff = Date.now() - idleMs;
    for (const session of this.sessions.values()) {
      if (session.lastActivity < cutoff && session.pendingCount === 0) {
        this.logger.info({ session: session.id }, 'closing idle MCP session');
        void this.closeSession(session, 'session expired');
      }
    }
  }

  /** 503: no child could start (`reason`, else what room() says now). */
  private rejectFull(res: ServerResponse, id: JsonRpcId | null, reason?: string): void {
    const why = reason ?? this.room() ?? `MCP bridge at capacity (${this.maxChildren} processes)`;
    sendError(res, 503, id, SERVER_UNAVAILABLE, why, {
      'retry-after': String(RETRY_AFTER_SECONDS),
    });
  }
}

interface PendingPing {
  child: StdioChild;
  answer(message: JsonRpcMessage): void;
  fail(reason: string): void;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sendError(
  res: ServerResponse,
  status: number,
  id: JsonRpcId | null,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = errorResponse(id, code, message);
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
}

/** The whole body as text, or undefined when it exceeds `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.once('end', () =>
      resolve(
        over
          ? undefined
          : chunks.length === 1
            ? chunks[0]!.toString('utf8')
            : Buffer.concat(chunks).toString('utf8'),
      ),
    );
    req.once('error', reject);
  });
}
