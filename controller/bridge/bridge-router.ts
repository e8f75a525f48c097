// The HTTP routing of one request to the bridge: /healthz, the Host and Origin check (as the
// gateway checks them: a page on a foreign site reaching this loopback port through DNS
// rebinding gets 403), /readyz, and the MCP endpoint — a POST to its session's process, to
// a new session's (initialize), to the warm spare (a lone ping) or to the client's sessionless
// process; a GET stream for a session; DELETE of a session. Every refusal is a status and a
// JSON-RPC error, never a stack trace.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SERVER_ERROR, duplicateRequestIdProblem } from '../gateway/jsonrpc.ts';
import { OriginPolicy } from '../gateway/validate-request.ts';
import { BRIDGE_CLIENT_HEADER } from '../sessions/client-key.ts';
import type { BridgeChildren } from './bridge-children.ts';
import type { StdioBridgeOptions } from './bridge-options.ts';
import type { BridgeSession } from './bridge-session.ts';
import {
  INTERNAL_ERROR,
  INVALID_REQUEST,
  PARSE_ERROR,
  SESSION_NOT_FOUND,
  isRequest,
  parseBody,
  type JsonRpcId,
  type JsonRpcMessage,
} from './jsonrpc.ts';
import { PostExchange } from './post-exchange.ts';
import { answerReadiness } from './readiness-endpoint.ts';
import { header, readBody, sendError, sendUnavailable } from './request-io.ts';
import type { SessionTable } from './session-table.ts';
import { SessionlessFullError, type SessionlessPool } from './sessionless-pool.ts';
import { BRIDGE_SHUTTING_DOWN } from './bridge-leaving.ts';
import type { ReadinessProof } from './readiness-proof.ts';
import type { SparePings } from './spare-ping.ts';

/** What the routes reach: the bridge's processes, sessions and readiness, and whether it is closing. */
export interface BridgeParts {
  children: BridgeChildren;
  sessions: SessionTable;
  sessionless: SessionlessPool;
  pings: SparePings;
  /** Whether the server answers initialize, proven once (readiness-proof.ts). */
  readiness: ReadinessProof;
  closing(): boolean;
}

export class BridgeRouter {
  /** The MCP endpoint's path. */
  readonly path: string;
  private readonly parts: BridgeParts;
  private readonly options: StdioBridgeOptions;
  private readonly policy: OriginPolicy;
  private readonly maxBodyBytes: number;
  private readonly resumeGraceMs: number;

  constructor(options: StdioBridgeOptions, parts: BridgeParts) {
    this.options = options;
    this.parts = parts;
    this.policy = new OriginPolicy({
      listenHost: options.host ?? '127.0.0.1',
      allowedHosts: options.allowedHosts,
      allowedOrigins: options.allowedOrigins,
    });
    this.path = options.path ?? '/mcp';
    this.maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
    this.resumeGraceMs = options.resumeGraceMs ?? 30_000;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === '/healthz' && req.method === 'GET') {
      const body = JSON.stringify({ ok: true, children: this.parts.children.size });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      return;
    }
    const verdict = this.policy.check(req.headers.host, header(req, 'origin'));
    if (!verdict.ok) {
      sendError(res, 403, null, SERVER_ERROR, `Forbidden: ${verdict.reason}`);
      return;
    }
    if (path === '/readyz' && req.method === 'GET')
      return answerReadiness(url, res, {
        closing: this.parts.closing(),
        proof: this.parts.readiness,
      });
    if (path !== this.path) {
      sendError(res, 404, null, INVALID_REQUEST, `no MCP endpoint at ${path}; use ${this.path}`);
      return;
    }
    if (this.parts.closing()) {
      sendUnavailable(res, null, BRIDGE_SHUTTING_DOWN);
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
      const session = this.parts.sessions.get(sessionId);
      if (!session || session.closed) {
        sendError(res, 404, ids[0] ?? null, SESSION_NOT_FOUND, 'Session not found');
        return;
      }
      this.dispatch(session, messages, batch, ids, accept, res, {}, rawSingle);
      return;
    }

    if (messages.some((m) => m.method === 'initialize')) {
      const session = this.parts.sessions.open();
      if (!session) {
        this.rejectFull(res, ids[0] ?? null);
        return;
      }
      const headers = { 'mcp-session-id': session.id };
      this.dispatch(session, messages, batch, ids, accept, res, headers, rawSingle);
      // The next spare is spawned once this initialize has been answered, not before: starting
      // a process competes for the CPU with the very child answering it (it was the biggest
      // part of a woken server's first-request latency).
      res.once('close', () => this.parts.children.ensureSpare());
      return;
    }

    const lone = batch ? undefined : messages[0];
    if (lone !== undefined && lone.method === 'ping' && isRequest(lone)) {
      await this.parts.pings.answer(lone.id as JsonRpcId, res);
      return;
    }

    let sessionless: Awaited<ReturnType<SessionlessPool['acquire']>>;
    try {
      sessionless = await this.parts.sessionless.acquire(
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
    const session = this.parts.sessions.get(sessionId);
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
    const session = this.parts.sessions.get(sessionId);
    if (!session) {
      sendError(res, 404, null, SESSION_NOT_FOUND, 'Session not found');
      return;
    }
    await this.parts.sessions.close(session, 'session deleted by the client');
    res.writeHead(200).end();
  }

  /** 503: no child could start (`reason`, else what the children say now). */
  private rejectFull(res: ServerResponse, id: JsonRpcId | null, reason?: string): void {
    sendUnavailable(res, id, reason ?? this.parts.children.refusal());
  }
}
