// One MCP session on the bridge: one stdio child, the POST exchanges waiting on it, and
// the optional GET stream for server-initiated messages. Events on the GET stream carry
// ids and the last ones are kept, so a client whose stream broke reconnects with
// Last-Event-ID and gets what it missed (resumability, MCP Streamable HTTP).
//
// Client sessions pass JSON-RPC ids through untouched (the child has one client). The
// shared sessionless child (2026-07-28-style requests) serves many clients at once, so it
// rewrites request ids to its own and restores them on the way back.
import type { ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { DEFAULT_MAX_BUFFERED_BYTES, writeBounded, type WriteLimits } from './bounded-write.ts';
import { markStarted } from './child-start.ts';
import { PostExchange } from './post-exchange.ts';
import { messageEvent, openEventStream } from './sse.ts';
import {
  INTERNAL_ERROR,
  INVALID_REQUEST,
  errorResponse,
  isRequest,
  isResponse,
  type JsonRpcId,
  type JsonRpcMessage,
} from './jsonrpc.ts';
import { describeExit, type ChildExit, type StdioChild } from './stdio-child.ts';

/** GET-stream events kept for redelivery (to a stream not yet open, or on resume). */
const MAX_RETAINED = 200;
const MAX_RETAINED_BYTES = 1024 * 1024;

interface StreamEvent {
  id: number;
  raw: string;
}

interface PendingRequest {
  exchange: PostExchange;
  clientId: JsonRpcId;
  progressToken?: JsonRpcId;
  /** An initialize: its answer says whether the child started. */
  initialize?: true;
}

export function newSessionId(): string {
  return randomBytes(16).toString('hex');
}

export class BridgeSession {
  readonly id: string;
  readonly child: StdioChild;
  readonly shared: boolean;
  lastActivity = Date.now();
  /** Set once the child exited or the session was closed: no new requests. */
  closed = false;
  private readonly pending = new Map<JsonRpcId, PendingRequest>();
  private readonly progressRoutes = new Map<JsonRpcId, PostExchange>();
  private readonly exchanges = new Set<PostExchange>();
  private getStream: ServerResponse | undefined;
  /** The last GET-stream events, oldest first; `delivered` marks the ones written out. */
  private retained: StreamEvent[] = [];
  private retainedBytes = 0;
  private delivered = 0;
  private lastEventId = 0;
  private nextInternalId = 1;
  private streamCount = 0;
  /** Requests the bridge itself sent (the shared child's initialize). */
  private readonly own = new Map<JsonRpcId, (message: JsonRpcMessage) => void>();
  /** The id of the bridge's own initialize, if it sent one. */
  private ownInitialize: JsonRpcId | undefined;

  /**
   * How the child's output is written to this session's clients (bounded-write.ts): a
   * session's own child is held while its client does not read; the shared child never is.
   */
  readonly limits: WriteLimits;

  constructor(
    id: string,
    child: StdioChild,
    shared: boolean,
    maxBufferedBytes = DEFAULT_MAX_BUFFERED_BYTES,
  ) {
    this.id = id;
    this.child = child;
    this.shared = shared;
    this.limits = shared
      ? { maxBufferedBytes }
      : { maxBufferedBytes, onBlocked: (res) => child.holdOutputFor(res) };
    child.onMessage = (message, raw) => this.onChildMessage(message, raw);
    void child.exited.then((exit) => {
      if (!this.closed) this.fail(exit);
    });
  }

  /** A number for the next POST stream of this session (its events' ids name it). */
  nextStreamNo(): number {
    return ++this.streamCount;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Forwards a POST's messages to the child. Requests get their answer through `exchange`;
   * `exchange` is undefined when the POST held only notifications/responses (202 already).
   * `rawSingle` is the body itself when it is one message on one line: relayed as is.
   */
  forward(
    messages: JsonRpcMessage[],
    exchange: PostExchange | undefined,
    rawSingle?: string,
  ): void {
    this.lastActivity = Date.now();
    if (exchange) {
      this.exchanges.add(exchange);
      exchange.onDone = () => this.onExchangeDone(exchange);
    }
    for (const message of messages) {
      if (exchange && isRequest(message)) {
        const clientId = message.id as JsonRpcId;
        // The child would get two requests under one id and one answer would be lost: the
        // later request is refused instead (MCP: an id is not reused within a session).
        if (!this.shared && this.pending.has(clientId)) {
          exchange.deliverResponse(clientId, idInUse(clientId));
          continue;
        }
        const token = message.params?._meta?.progressToken;
        const key = this.shared ? this.nextInternalId++ : clientId;
        this.pending.set(key, {
          exchange,
          clientId,
          ...(token !== undefined ? { progressToken: token } : {}),
          ...(message.method === 'initialize' ? { initialize: true } : {}),
        });
        if (token !== undefined) this.progressRoutes.set(token, exchange);
        const raw = this.shared
          ? JSON.stringify({ ...message, id: key })
          : (rawSingle ?? JSON.stringify(message));
        if (!this.child.send(raw)) {
          this.pending.delete(key);
          exchange.deliverResponse(
            clientId,
            errorResponse(clientId, INTERNAL_ERROR, 'MCP server process is not running'),
          );
        }
      } else {
        this.child.send(rawSingle ?? JSON.stringify(message));
      }
    }
  }

  /**
   * Attaches the GET stream for server-initiated messages; false if one is open. Sends the
   * events the client has not seen: those after `lastEventId` when it resumes (still kept),
   * otherwise the ones that arrived while no stream was open.
   */
  attachStream(res: ServerResponse, lastEventId?: string): boolean {
    // An id of a POST's stream (`p<stream>-<n>`): that stream continues on this GET.
    const postStream = lastEventId === undefined ? null : /^p(\d+)-(\d+)$/.exec(lastEventId);
    if (postStream) {
      const streamNo = Number(postStream[1]);
      for (const exchange of this.exchanges) {
        if (exchange.streamNo === streamNo && exchange.resumable) {
          this.lastActivity = Date.now();
          exchange.resume(res, Number(postStream[2]));
          return true;
        }
      }
      // Gone (answered and expired, or abandoned): what is left is the standalone stream
      // (the id is no number of it, so nothing is replayed).
    }
    if (this.getStream && !this.getStream.writableEnded) return false;
    this.getStream = res;
    openEventStream(res, { 'mcp-session-id': this.id });
    const resumeAfter = lastEventId !== undefined ? Number(lastEventId) : NaN;
    const from = Number.isInteger(resumeAfter) ? resumeAfter : this.delivered;
    for (const event of this.retained) if (event.id > from) this.writeStream(res, event);
    this.delivered = this.lastEventId;
    res.once('close', () => {
      if (this.getStream === res) this.getStream = undefined;
    });
    return true;
  }

  /** The child exited (or is being stopped): every waiting client gets an error now. */
  fail(exit: ChildExit | undefined, reason?: string): void {
    this.closed = true;
    const message = reason ?? `MCP server process ${exit ? describeExit(exit) : 'stopped'}`;
    const spawnFailed = exit?.spawnError !== undefined;
    for (const exchange of [...this.exchanges]) {
      exchange.failAll(INTERNAL_ERROR, message, spawnFailed ? 502 : 200);
    }
    this.pending.clear();
    this.progressRoutes.clear();
    this.exchanges.clear();
    if (this.getStream && !this.getStream.writableEnded) this.getStream.end();
    this.getStream = undefined;
    this.retained = [];
    this.retainedBytes = 0;
  }

  /** Sends a request of the bridge's own and resolves with the child's response. */
  request(method: string, params: Record<string, unknown>): Promise<JsonRpcMessage> {
    const id = `bridge-${this.nextInternalId++}`;
    if (method === 'initialize') this.ownInitialize = id;
    return new Promise((resolve, reject) => {
      this.own.set(id, resolve);
      if (!this.child.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }))) {
        this.own.delete(id);
        reject(new Error('MCP server process is not running'));
      }
      void this.child.exited.then((exit) => {
        if (this.own.delete(id)) reject(new Error(`MCP server process ${describeExit(exit)}`));
      });
    });
  }

  /** Sends a notification of the bridge's own. */
  notify(method: string, params?: Record<string, unknown>): void {
    this.child.send(JSON.stringify({ jsonrpc: '2.0', method, ...(params ? { params } : {}) }));
  }

  private onChildMessage(message: JsonRpcMessage, raw: string): void {
    if (isResponse(message) && message.id !== undefined && message.id !== null) {
      const own = this.own.get(message.id);
      if (own) {
        this.own.delete(message.id);
        if (this.ownInitialize === message.id && message.error === undefined)
          markStarted(this.child);
        own(message);
        return;
      }
      const pending = this.pending.get(message.id);
      if (!pending) return; // answer to an abandoned or cancelled request
      this.pending.delete(message.id);
      if (pending.initialize && message.error === undefined) markStarted(this.child);
      if (pending.progressToken !== undefined) this.progressRoutes.delete(pending.progressToken);
      const out = this.shared ? JSON.stringify({ ...message, id: pending.clientId }) : raw;
      pending.exchange.deliverResponse(pending.clientId, out);
      return;
    }
    this.route(message, raw);
  }

  /** Notifications and server→client requests: to the request they most likely belong to. */
  private route(message: JsonRpcMessage, raw: string): void {
    const token =
      message.method === 'notifications/progress'
        ? (message.params as { progressToken?: JsonRpcId } | undefined)?.progressToken
        : undefined;
    const byToken = token !== undefined ? this.progressRoutes.get(token) : undefined;
    if (byToken?.deliverMessage(raw)) return;
    if (this.shared) return; // a shared child's other chatter has no single client
    // A stream waiting for its client to come back takes only what names it (above).
    for (const exchange of this.exchanges) {
      if (!exchange.detached && exchange.deliverMessage(raw)) return;
    }
    const event = { id: ++this.lastEventId, raw };
    this.retained.push(event);
    this.retainedBytes += raw.length;
    while (this.retained.length > MAX_RETAINED || this.retainedBytes > MAX_RETAINED_BYTES) {
      this.retainedBytes -= this.retained.shift()!.raw.length;
    }
    if (this.getStream && !this.getStream.writableEnded && this.writeStream(this.getStream, event))
      this.delivered = event.id;
  }

  /**
   * One event on the GET stream; a stream whose client left more than the cap unread is
   * ended (false): it comes back with Last-Event-ID for what it missed, still retained.
   */
  private writeStream(res: ServerResponse, event: StreamEvent): boolean {
    if (writeBounded(res, sseEvent(event), this.limits)) return true;
    res.end();
    return false;
  }

  private onExchangeDone(exchange: PostExchange): void {
    this.exchanges.delete(exchange);
    if (!exchange.abandoned) return;
    // The client went away: forget its requests and tell the server to stop working on them.
    for (const [key, pending] of this.pending) {
      if (pending.exchange !== exchange) continue;
      this.pending.delete(key);
      if (pending.progressToken !== undefined) this.progressRoutes.delete(pending.progressToken);
      this.child.send(
        JSON.stringify({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: key, reason: 'client disconnected' },
        }),
      );
    }
  }
}

function sseEvent(event: StreamEvent): string {
  return messageEvent(event.raw, String(event.id));
}

function idInUse(id: JsonRpcId): string {
  return errorResponse(
    id,
    INVALID_REQUEST,
    `Invalid Request: id ${JSON.stringify(id)} is already used by a request of this session still in flight`,
  );
}
