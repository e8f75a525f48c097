// The MCP endpoint /servers/<slug>/mcp (Streamable HTTP: POST, GET, DELETE), as a chain:
// known server? → read + check the body → acquire a lease (the fleet wakes/holds/routes)
// → proxy → session bookkeeping → release. Only what routing needs is peeked at: the
// JSON-RPC shape and methods of a POST, the session id headers, the upstream status.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FleetError, type Fleet, type Lease } from '../fleet/fleet.ts';
import type { Principal } from '../auth/principal.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { recordToolCalls, type ToolCallDecision } from '../audit/tool-call-records.ts';
import type { Logger } from '../observability/log.ts';
import type { Metrics } from '../observability/metrics.ts';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import {
  INTERNAL_ERROR,
  SERVER_ERROR,
  SESSION_NOT_FOUND,
  type JsonRpcId,
  type MessagePeek,
} from './jsonrpc.ts';
import { UpstreamError, UpstreamExchange, type UpstreamHead } from './proxy.ts';
import { changesReplay } from '../sessions/session-record.ts';
import { classifyRequest, type RequestEra } from '../eras/classify-request.ts';
import type { EraTranslation, LocalAnswer, Plan } from '../eras/era-translation.ts';
import { bodyRewriter, composeRewrites } from '../eras/message-rewrite.ts';
import type { ServerPolicies } from '../auth/policy/server-policies.ts';
import { auditVerdict, authorizeCall, sendRefusal } from './call-policy.ts';
import { ParkedStream } from './parked-stream.ts';
import { BRIDGE_CLIENT_HEADER, clientKeyOf, clientPseudonym } from '../sessions/client-key.ts';
import { answeredUnknownSession, readSmallReply, sendSmallReply } from './unknown-session-reply.ts';
import { RequestMetrics } from './request-metrics.ts';
import { readPostBody } from './post-body.ts';
import { sendFleetError, sendJsonRpcError } from './respond.ts';
import type { UpstreamPools } from './upstream-pools.ts';

export interface McpHandlerDeps {
  fleet: Fleet;
  metrics: Metrics;
  logger: Logger;
  pools: UpstreamPools;
  /** Between the 2025 and 2026-07-28 eras of the protocol, where client and server differ. */
  eras: EraTranslation;
  /** Largest accepted POST body in bytes. */
  maxBodyBytes: number;
  /** Quiet time before an SSE keep-alive comment (default SSE_KEEPALIVE_MS, 25 s). */
  sseKeepaliveMs?: number;
  /** The whole POST body within this → else 408 (none when absent). */
  bodyTimeoutMs?: number;
  /** Told of each body that timed out (the connection limits' report). */
  onBodyTimeout?: () => void;
  /** Who may use each server and call which tools (auth/policy/); absent: everyone, all. */
  policies?: ServerPolicies;
  /** Where each tools/call is recorded when its reply ends (none when absent). */
  audit?: AuditLog;
}

export interface McpRequestContext {
  slug: string;
  requestId: string;
  /** The client's query string including '?', or ''. */
  search: string;
  /** Who is calling (auth/access-gate.ts): ANONYMOUS when no identity is configured. */
  principal: Principal;
  /** The endpoint's protected resource metadata URL, for a scope challenge (with a gate). */
  resourceMetadata?: () => string;
}

type McpMethod = 'POST' | 'GET' | 'DELETE';
const ALLOWED = 'GET, POST, DELETE';

export type McpHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: McpRequestContext,
) => Promise<void>;

export function createMcpHandler(deps: McpHandlerDeps): McpHandler {
  const { fleet, logger, pools, eras } = deps;
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
    const arrived = Date.now();
    stats.started(slug);
    let peek: MessagePeek | undefined;
    // The seam for per-tool authorization: whatever decides a call of this POST puts its
    // verdict at the call's index in peek.calls, and the audit records it; a call without one
    // got this far, and is recorded as allowed.
    const toolVerdicts: (ToolCallDecision | undefined)[] = [];
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
      if (deps.audit && peek)
        recordToolCalls(deps.audit, {
          slug,
          requestId,
          principal: ctx.principal,
          calls: peek.calls,
          at: arrived,
          durationMs: performance.now() - started,
          status: res.statusCode,
          completed: res.writableFinished,
          verdicts: toolVerdicts,
        });
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

    // 1. The body, bounded, and a look at its JSON-RPC shape (post-body.ts answers failures).
    let body: Buffer | undefined;
    if (method === 'POST') {
      const read = await readPostBody(req, res, deps, idHeader);
      if (!read) return;
      ({ body, peek } = read);
    }
    const rpcId: JsonRpcId = peek?.id ?? null;
    const sessionId = headerValue(req.headers['mcp-session-id']);
    // Who sent it, for the per-client limits: the principal, or the address when anonymous.
    const client = ctx.principal.kind === 'anonymous' ? clientKeyOf(req) : ctx.principal.id;
    // Sessions are bound to the principal that opened them (anonymous: none).
    const principal = ctx.principal.kind === 'anonymous' ? undefined : ctx.principal.id;
    // Which era the request speaks; headers that contradict the body never reach a server.
    const era: RequestEra = peek ? classifyRequest(req.headers, peek) : { era: 'legacy' };
    if (era.era === 'rejected') {
      sendJsonRpcError(res, 400, rpcId, era.code, era.message, idHeader, era.data);
      return;
    }
    // Authorization, from the body (gateway/call-policy.ts): the server (403), each tools/call
    // (refused here, never sent), which tools a tools/list answer may show.
    const authorization = authorizeCall(deps.policies, ctx.principal, slug, peek);
    for (const call of authorization.toolCalls) toolVerdicts[call.index] = auditVerdict(call);
    if (authorization.kind === 'refused') {
      sendRefusal(res, authorization, idHeader, ctx.resourceMetadata);
      return;
    }

    // Ending a session whose backend is gone (its server sleeps) needs no backend.
    if (method === 'DELETE' && sessionId !== undefined) {
      try {
        if ((await fleet.endSession(slug, sessionId, principal)) === 'ended') {
          res.writeHead(200, idHeader).end();
          return;
        }
      } catch (err) {
        if (!(err instanceof FleetError)) throw err;
        sendFleetError(res, err, rpcId);
        return;
      }
    }

    // A GET stream of a sleeping server's session is opened here at once and kept open
    // (comments keep proxies from timing it out) until the session is bound again.
    let parked: ParkedStream | undefined;
    const onPark = (): void => {
      parked ??= new ParkedStream(res, sessionId!, requestId, deps.sseKeepaliveMs);
    };

    // A session's backend may have lost it (child or pod restarted): the fleet binds it again
    // (replays it) and the request is sent once more.
    for (let attempt = 1; ; attempt++) {
      // 2. A lease: the fleet wakes the server if needed, holds us, routes the session.
      let lease: Lease;
      try {
        lease = await fleet.acquire(slug, {
          kind: method === 'GET' ? 'stream' : 'request',
          sessionId,
          signal: waiting.signal,
          client,
          principal,
          ...(peek ? { methods: peek.methods } : {}),
          ...(method === 'GET' && sessionId !== undefined ? { onPark } : {}),
        });
      } catch (err) {
        if (clientGone) return;
        if (parked) return parked.end();
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
        lease.signal.removeEventListener('abort', onLeaseAbort);
        lease.release();
      };
      const onLeaseAbort = (): void => exchange?.abort();
      if (clientGone) {
        release(); // the client left while the server was waking
        return;
      }
      lease.signal.addEventListener('abort', onLeaseAbort, { once: true });
      res.once('close', release);

      // 3. Across eras, where client and backend speak different revisions.
      const planInput = {
        method,
        era,
        peek,
        body,
        upstream: lease.upstream,
        clientSession: sessionId,
        client,
      };
      let plan: Plan;
      try {
        plan = await eras.plan(planInput);
      } catch (err) {
        release();
        if (clientGone) return;
        logger.warn({ reqId: requestId, server: slug, err }, 'era translation failed');
        sendJsonRpcError(
          res,
          502,
          rpcId,
          SERVER_ERROR,
          `Server "${slug}": ${(err as Error).message}`,
          idHeader,
        );
        return;
      }
      if (plan.kind === 'answer') {
        await answerHere(plan, lease);
        release();
        return;
      }

      // 4. Upstream, in the backend's own session.
      const target = pools.target(lease.upstream.url);
      const headers = upstreamRequestHeaders(
        req.headers,
        lease.upstream.headers,
        requestId,
        req.socket.remoteAddress,
      );
      // The bridge gives sessionless requests of different clients different processes.
      headers[BRIDGE_CLIENT_HEADER] = clientPseudonym(client);
      const backendSession = lease.upstream.sessionId;
      if (backendSession === '') delete headers['mcp-session-id'];
      else if (backendSession !== undefined) headers['mcp-session-id'] = backendSession;
      // Event ids of a backend session that is gone mean nothing to the new one.
      if (parked || lease.upstream.resumed) delete headers['last-event-id'];
      if (plan.kind === 'forward')
        for (const [name, value] of Object.entries(plan.headers)) {
          if (value === undefined) delete headers[name];
          else headers[name] = value;
        }
      exchange = UpstreamExchange.send(target, {
        method,
        path: ctx.search ? joinQuery(target.path, ctx.search) : target.path,
        headers,
        body: plan.kind === 'forward' ? plan.body : body,
      });
      if (lease.signal.aborted) exchange.abort();
      let upstream: UpstreamHead;
      try {
        upstream = await exchange.head;
      } catch (err) {
        if (clientGone) return;
        if (parked) return parked.end();
        if (
          lease.signal.aborted &&
          peek?.isInitialize &&
          sessionId === undefined &&
          attempt === 1
        ) {
          // The replica went away before it answered an initialize (a pod scaled down while
          // this controller's view still listed it). Whatever it began died with it, so the
          // initialize is safe to send once more, to a replica that is there. Other calls are
          // not retried: they may have run.
          release();
          continue;
        }
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

      // 5. Sessions: a backend that lost the session, a session minted or ended.
      const status = upstream.statusCode;
      if (plan.kind === 'forward' && plan.onLost && status === 404 && attempt === 1) {
        // The backend session the gateway holds for a 2026-07-28 client is gone: a new one.
        exchange.abort();
        release();
        plan.onLost();
        continue;
      }
      if (
        status === 400 &&
        plan.kind === 'native' &&
        peek?.isInitialize &&
        sessionId === undefined
      ) {
        // A 2026-07-28-only server refuses a 2025 initialize (-32022): the gateway answers it.
        const bytes = await readSmallReply(upstream, exchange, res, requestId, lease.signal);
        if (bytes === undefined) return; // relayed as it came (not small), or failed
        const instead = await eras.refusedAsLegacy(planInput, bytes).catch(() => undefined);
        if (instead) await answerHere(instead, lease);
        else sendSmallReply(res, upstream, bytes, requestId);
        release();
        return;
      }
      if (sessionId !== undefined) {
        const verdict =
          status === 404
            ? 'lost'
            : status === 400
              ? await answeredUnknownSession(upstream, exchange, res, requestId, lease.signal)
              : 'not-ours';
        if (verdict === 'answered') return; // a 400 relayed as it came
        if (verdict === 'lost') {
          exchange.abort();
          release();
          const again = await fleet.sessionLost(slug, sessionId, {
            replicaId: lease.upstream.replicaId,
            sessionId: backendSession ?? sessionId,
          });
          if (method === 'DELETE') await fleet.sessionClosed(slug, sessionId);
          else if (again && attempt === 1) continue;
          if (parked) return parked.end();
          sendJsonRpcError(res, 404, rpcId, SESSION_NOT_FOUND, 'Session not found', idHeader);
          return;
        }
      }
      stats.answered(slug, (performance.now() - started) / 1000);
      const responseHeaders = clientResponseHeaders(upstream.headers, requestId);
      const ok = status >= 200 && status < 300;
      if (plan.kind === 'forward' && plan.hideSession) delete responseHeaders['mcp-session-id'];
      if (sessionId !== undefined) {
        // The client only ever sees its own session id.
        if (responseHeaders['mcp-session-id'] !== undefined)
          responseHeaders['mcp-session-id'] = sessionId;
        if (method === 'DELETE' && ok) await fleet.sessionClosed(slug, sessionId);
        else if (ok && peek && changesReplay(peek.calls))
          await fleet.sessionCallsAnswered(slug, sessionId, peek.calls);
      } else if (peek?.isInitialize && ok) {
        const minted = headerValue(upstream.headers['mcp-session-id']);
        if (minted !== undefined) {
          const initialize = peek.calls.find((c) => c.method === 'initialize')?.params;
          responseHeaders['mcp-session-id'] = await fleet.sessionOpened(
            slug,
            { replicaId: lease.upstream.replicaId, sessionId: minted },
            (initialize ?? {}) as Record<string, unknown>,
            undefined,
            client,
            principal,
          );
        }
      }
      if (parked && !ok) {
        exchange.abort();
        return parked.end();
      }
      parked?.attached();

      // 6. Relay, streaming.
      const rewrite = composeRewrites(
        plan.kind === 'forward' ? plan.rewrite : undefined,
        authorization.rewrite,
      );
      const rewriter = rewrite
        ? bodyRewriter(String(upstream.headers['content-type'] ?? ''), rewrite)
        : undefined;
      exchange.relayTo(res, status, responseHeaders, lease.signal, {
        flushHeaders: method === 'GET',
        rewriter,
        keepaliveMs: deps.sseKeepaliveMs,
        ...(rpcId !== null
          ? { unanswered: { id: rpcId, message: `Server "${slug}" went away before answering` } }
          : {}),
      });
      return;
    }

    /** A reply the era translation makes here, with the session bookkeeping it implies. */
    async function answerHere(answer: LocalAnswer, lease: Lease): Promise<void> {
      const headers: Record<string, string> = { ...idHeader, ...answer.headers };
      if (answer.opensSession)
        headers['mcp-session-id'] = await fleet.sessionOpened(
          slug,
          { replicaId: lease.upstream.replicaId, sessionId: '' },
          answer.opensSession,
          'modern',
          client,
          principal,
        );
      if (sessionId !== undefined) {
        if (answer.closesSession) await fleet.sessionClosed(slug, sessionId);
        else if (answer.status < 300 && peek && changesReplay(peek.calls))
          await fleet.sessionCallsAnswered(slug, sessionId, peek.calls);
        headers['mcp-session-id'] ??= sessionId;
      }
      stats.answered(slug, (performance.now() - started) / 1000);
      if (answer.message === undefined) {
        res.writeHead(answer.status, headers).end();
        return;
      }
      const text = JSON.stringify(answer.message);
      res
        .writeHead(answer.status, {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        })
        .end(text);
    }
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined || v === '' ? undefined : v;
}

function joinQuery(path: string, search: string): string {
  return path.includes('?') ? `${path}&${search.slice(1)}` : path + search;
}
