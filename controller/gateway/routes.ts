// The MCP endpoint /servers/<slug>/mcp (Streamable HTTP: POST, GET, DELETE), as a chain:
// known server? → read + check the body → acquire a lease (the fleet wakes/holds/routes)
// → proxy → session bookkeeping → release. Only what routing needs is peeked at: the
// JSON-RPC shape and methods of a POST, the session id headers, the upstream status.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FleetError, type Fleet, type Lease } from '../fleet/fleet.ts';
import type { Logger } from '../observability/log.ts';
import type { Metrics } from '../observability/metrics.ts';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import {
  INTERNAL_ERROR,
  SERVER_ERROR,
  SESSION_NOT_FOUND,
  peekMessages,
  type JsonRpcId,
  type MessagePeek,
} from './jsonrpc.ts';
import { UpstreamError, UpstreamExchange, type UpstreamHead } from './proxy.ts';
import { RequestMetrics } from './request-metrics.ts';
import { BodyAbortedError, BodyTooLargeError, readBody } from './read-body.ts';
import { sendFleetError, sendJsonRpcError } from './respond.ts';
import type { UpstreamPools } from './upstream-pools.ts';

export interface McpHandlerDeps {
  fleet: Fleet;
  metrics: Metrics;
  logger: Logger;
  pools: UpstreamPools;
  /** Largest accepted POST body in bytes. */
  maxBodyBytes: number;
}

export interface McpRequestContext {
  slug: string;
  requestId: string;
  /** The client's query string including '?', or ''. */
  search: string;
}

type McpMethod = 'POST' | 'GET' | 'DELETE';
const ALLOWED = 'GET, POST, DELETE';
/** A backend's "bad session" reply is small; bigger 400s are relayed untouched. */
const SESSION_REPLY_LIMIT = 16 * 1024;

export type McpHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: McpRequestContext,
) => Promise<void>;

export function createMcpHandler(deps: McpHandlerDeps): McpHandler {
  const { fleet, logger, pools, maxBodyBytes } = deps;
  const stats = new RequestMetrics(deps.metrics);

  return async function handleMcp(req, res, ctx) {
    const { slug, requestId } = ctx;
    const idHeader = { 'x-request-id': requestId };
    if (!fleet.has(slug)) {
      sendJsonRpcError(res, 404, null, SERVER_ERROR, `Unknown server "${slug}"`, idHeader);
      return;
    }
    const method = req.method as McpMethod;
    if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') {
      sendJsonRpcError(res, 405, null, SERVER_ERROR, `Method ${req.method} not allowed`, {
        ...idHeader,
        allow: ALLOWED,
      });
      return;
    }

    const started = performance.now();
    stats.started(slug);
    let peek: MessagePeek | undefined;
    // `waiting` stops the wait for a lease when the client leaves early; `exchange.abort()`
    // ends the upstream call when the client leaves or the lease is taken.
    const waiting = new AbortController();
    let exchange: UpstreamExchange | undefined = undefined;
    let clientGone = false;
    const logRequests = logger.isLevelEnabled('info');
    res.once('close', () => {
      if (!res.writableFinished) {
        clientGone = true;
        waiting.abort();
        exchange?.abort();
      }
      stats.finished(slug, method, res.statusCode);
      if (!logRequests) return;
      logger.info(
        {
          reqId: requestId,
          server: slug,
          method,
          rpc: peek?.methods[0],
          status: res.statusCode,
          ms: Math.round((performance.now() - started) * 10) / 10,
          ...(res.writableFinished ? {} : { aborted: true }),
        },
        'mcp request',
      );
    });

    // 1. The body, bounded, and a look at its JSON-RPC shape.
    let body: Buffer | undefined;
    if (method === 'POST') {
      try {
        body = await readBody(req, maxBodyBytes);
      } catch (err) {
        if (err instanceof BodyTooLargeError) {
          // The rest of the upload is drained (not stored) and the connection closed.
          req.resume();
          sendJsonRpcError(res, 413, null, SERVER_ERROR, err.message, {
            ...idHeader,
            connection: 'close',
          });
        } else if (!(err instanceof BodyAbortedError)) {
          throw err;
        }
        return;
      }
      const result = peekMessages(body);
      if (!result.ok) {
        sendJsonRpcError(res, 400, result.id, result.code, result.message, idHeader);
        return;
      }
      peek = result.peek;
    }
    const rpcId: JsonRpcId = peek?.id ?? null;
    const sessionId = headerValue(req.headers['mcp-session-id']);

    // 2. A lease: the fleet wakes the server if needed, holds us, routes the session.
    let lease: Lease;
    try {
      lease = await fleet.acquire(slug, {
        kind: method === 'GET' ? 'stream' : 'request',
        sessionId,
        signal: waiting.signal,
      });
    } catch (err) {
      if (clientGone) return;
      if (err instanceof FleetError) {
        stats.rejected(slug, err.code);
        sendFleetError(res, err, rpcId);
      } else {
        logger.error({ reqId: requestId, server: slug, err }, 'fleet.acquire failed');
        sendJsonRpcError(res, 500, rpcId, INTERNAL_ERROR, 'Internal gateway error', idHeader);
      }
      return;
    }
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      lease.release();
    };
    if (clientGone) {
      release(); // the client left while the server was waking
      return;
    }
    const onLeaseAbort = (): void => exchange?.abort();
    lease.signal.addEventListener('abort', onLeaseAbort, { once: true });
    res.once('close', () => {
      lease.signal.removeEventListener('abort', onLeaseAbort);
      release();
    });

    // 3. Upstream.
    const target = pools.target(lease.upstream.url);
    exchange = UpstreamExchange.send(target, {
      method,
      path: ctx.search ? joinQuery(target.path, ctx.search) : target.path,
      headers: upstreamRequestHeaders(
        req.headers,
        lease.upstream.headers,
        requestId,
        req.socket.remoteAddress,
      ),
      body,
    });
    if (lease.signal.aborted) exchange.abort();
    let upstream: UpstreamHead;
    try {
      upstream = await exchange.head;
    } catch (err) {
      if (clientGone) return;
      if (lease.signal.aborted) {
        sendJsonRpcError(res, 503, rpcId, SERVER_ERROR, `Server "${slug}" went away`, {
          ...idHeader,
          'retry-after': '1',
        });
      } else if (err instanceof UpstreamError) {
        logger.warn({ reqId: requestId, server: slug, err: err.message }, 'upstream failed');
        sendJsonRpcError(res, err.status, rpcId, SERVER_ERROR, err.message, idHeader);
      } else {
        throw err;
      }
      return;
    }
    stats.answered(slug, (performance.now() - started) / 1000);

    // 4. Sessions: learn the ones minted, forget the ones that ended.
    const status = upstream.statusCode;
    if (sessionId !== undefined) {
      if (status === 404) {
        fleet.sessionClosed(slug, sessionId);
      } else if (
        status === 400 &&
        (await answeredUnknownSession(upstream, exchange, res, requestId))
      ) {
        fleet.sessionClosed(slug, sessionId);
        sendJsonRpcError(res, 404, rpcId, SESSION_NOT_FOUND, 'Session not found', idHeader);
        return;
      } else if (method === 'DELETE' && status >= 200 && status < 300) {
        fleet.sessionClosed(slug, sessionId);
      }
    }
    if (peek?.isInitialize && status >= 200 && status < 300) {
      const minted = headerValue(upstream.headers['mcp-session-id']);
      if (minted !== undefined) fleet.sessionOpened(slug, minted, lease.upstream.replicaId);
    }
    // answeredUnknownSession relayed the upstream's own 400, or gave up on a broken one.
    if (res.writableEnded || res.destroyed) return;

    // 5. Relay, streaming.
    exchange.relayTo(
      res,
      status,
      clientResponseHeaders(upstream.headers, requestId),
      lease.signal,
      method === 'GET',
    );
  };
}

/**
 * Some backends (the MCP SDK's Express examples, server-everything) answer an unknown
 * MCP-Session-Id with 400 instead of the 404 the spec requires, which stops clients from
 * re-initializing. A small 400 JSON body that talks about the session is normalised to 404;
 * any other 400 is relayed here as it came. Returns true when the caller should send 404.
 */
async function answeredUnknownSession(
  upstream: UpstreamHead,
  exchange: UpstreamExchange,
  res: ServerResponse,
  requestId: string,
): Promise<boolean> {
  const length = Number(upstream.headers['content-length']);
  const type = String(upstream.headers['content-type'] ?? '');
  if (!(length <= SESSION_REPLY_LIMIT) || !type.includes('json')) return false;
  const bytes = await exchange.readSmall(SESSION_REPLY_LIMIT);
  if (bytes === undefined) {
    res.destroy(); // the upstream failed mid-body: an error, not a truncated reply
    return false;
  }
  if (/session/i.test(bytes.toString('utf8'))) return true;
  const headers = clientResponseHeaders(upstream.headers, requestId);
  res.writeHead(upstream.statusCode, headers);
  res.end(bytes);
  return false;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined || v === '' ? undefined : v;
}

function joinQuery(path: string, search: string): string {
  return path.includes('?') ? `${path}&${search.slice(1)}` : path + search;
}
