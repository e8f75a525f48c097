// The controller's one HTTP server: the MCP gateway (/servers/<slug>/mcp), the management
// API (/api/v1/...), and /healthz, /readyz, /metrics. Plain node:http, no framework on the
// hot path. Host/Origin are checked for everything but the liveness/readiness probes
// (kubelet probes by pod IP, which no allow-list would name).
import type { RegistryStatusView } from './api/types.ts';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { API_PREFIX, createApiHandler } from './api/routes.ts';
import type { ApiKeys } from './auth/keys/api-keys.ts';
import type { AuditLog } from './audit/audit-log.ts';
import type { ServerPolicies } from './auth/policy/server-policies.ts';
import type { AccessGate } from './auth/access-gate.ts';
import { ANONYMOUS } from './auth/principal.ts';
import {
  sendResourceMetadata,
  type ResourceMetadataSource,
} from './auth/protected-resource-metadata.ts';
import { metadataTarget } from './auth/resource-urls.ts';
import { sendApiError, sendJson } from './api/send-json.ts';
import { ConnectionGuard } from './connections/connection-guard.ts';
import {
  httpServerOptions,
  resolveConnectionLimits,
  type ConnectionLimits,
} from './connections/connection-limits.ts';
import { sendOverCapacity } from './connections/over-capacity-reply.ts';
import type { Fleet } from './fleet/fleet.ts';
import { createGateway, type Gateway } from './gateway/gateway.ts';
import { allowOrigin, answerPreflight } from './gateway/cors.ts';
import { SERVER_ERROR } from './gateway/jsonrpc.ts';
import { MCP_PATH } from './gateway/mcp-path.ts';
import { requestIdOf } from './gateway/request-id.ts';
import { sendJsonRpcError } from './gateway/respond.ts';
import { OriginPolicy } from './gateway/validate-request.ts';
import { withinRateLimits } from './rate-limits/rate-gate.ts';
import type { RateLimits } from './rate-limits/rate-limits.ts';
import type { Logger } from './observability/log.ts';
import type { Metrics } from './observability/metrics.ts';
import type { ServerLogs } from './observability/server-logs.ts';

export interface ReadinessCheck {
  ok: boolean;
  error?: string;
  /**
   * The controller keeps serving without it (coordination: each replica then decides alone),
   * so a failure reports `degraded` with 200 instead of taking the pod out of its Service.
   */
  degradable?: boolean;
  /** Serving, but someone should know (e.g. --insecure-no-auth). */
  warning?: string;
}
/** Named checks for /readyz, e.g. { store, coord, registry }. */
export type Readiness = () => Promise<Record<string, ReadinessCheck>>;

export interface ControllerServerOptions {
  fleet: Fleet;
  metrics: Metrics;
  logger: Logger;
  /** The listen address; decides the default Host allow-list (loopback → loopback names). */
  listenHost: string;
  allowedHosts?: readonly string[];
  allowedOrigins?: readonly string[];
  maxBodyBytes?: number;
  upstreamHeadersTimeoutMs?: number;
  /** Quiet time before an SSE keep-alive comment on a relayed stream (default 25 s). */
  sseKeepaliveMs?: number;
  readiness?: Readiness;
  /** The registry's standing, for GET /api/v1/registry. */
  registry?: () => RegistryStatusView;
  /** Each server's recent log lines, for GET /api/v1/servers/<slug>/logs. */
  serverLogs?: ServerLogs;
  /** How often an events follower (GET /api/v1/events?follow=true) reads the store. */
  eventPollMs?: number;
  /** The keepalive comment period of the API's follow streams (default 15 s). */
  followKeepaliveMs?: number;
  /** Connection cap, probe reserve, header and body deadlines (connections/connection-limits.ts). */
  connections?: Partial<ConnectionLimits>;
  /** API keys, for /api/v1/keys (`mcpfleet keys`); without, those routes answer 503. */
  keys?: ApiKeys;
  /**
   * Who may call the MCP endpoints and the API (auth/access-gate.ts), and the protected
   * resource metadata clients read after a 401. Absent: everyone is ANONYMOUS.
   */
  access?: { gate: AccessGate; metadata: ResourceMetadataSource };
  /** The audit log: every tools/call and management action is recorded in it; none without. */
  audit?: AuditLog;
  /** Who may use each server and call which tools (auth/policy/); absent: everyone, all. */
  policies?: ServerPolicies;
  /**
   * Budgets per caller and per server (rate-limits/), spent by what the access gate admitted;
   * /healthz, /readyz and /metrics are never limited. Absent: nothing is.
   */
  rateLimits?: RateLimits;
}

export interface ControllerServer {
  server: Server;
  gateway: Gateway;
  /** The connection cap and its reserve: open connections, limit events. */
  connections: ConnectionGuard;
  /** Stops accepting, ends open streams after `graceMs`, closes upstream pools. */
  close(graceMs?: number): Promise<void>;
}

/** What a connection in the probe reserve may ask for. */
function reservedForProbes(pathname: string): boolean {
  return (
    pathname === '/healthz' ||
    pathname === '/readyz' ||
    pathname === '/metrics' ||
    pathname.startsWith(API_PREFIX)
  );
}

export function createControllerServer(options: ControllerServerOptions): ControllerServer {
  const { fleet, metrics, logger } = options;
  const limits = resolveConnectionLimits(options.connections);
  const policy = new OriginPolicy({
    listenHost: options.listenHost,
    allowedHosts: options.allowedHosts,
    allowedOrigins: options.allowedOrigins,
  });
  const gateway = createGateway({
    fleet,
    metrics,
    logger,
    maxBodyBytes: options.maxBodyBytes,
    upstreamHeadersTimeoutMs: options.upstreamHeadersTimeoutMs,
    sseKeepaliveMs: options.sseKeepaliveMs,
    bodyTimeoutMs: limits.bodyTimeoutMs,
    onBodyTimeout: () => connections.note('body-timeout'),
    audit: options.audit,
    policies: options.policies,
  });
  const api = createApiHandler(fleet, logger, {
    registry: options.registry,
    serverLogs: options.serverLogs,
    eventPollMs: options.eventPollMs,
    keepaliveMs: options.followKeepaliveMs,
    keys: options.keys,
    audit: options.audit,
  });
  const readiness = options.readiness ?? (async () => ({}));
  const gate = options.access?.gate;
  const log = logger.child({ component: 'http' });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = requestIdOf(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const pathname = q === -1 ? rawUrl : rawUrl.slice(0, q);
    if (!connections.admits(req, pathname)) {
      sendOverCapacity(res, MCP_PATH.test(pathname));
      return;
    }

    if (pathname === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (pathname === '/readyz') {
      const checks: Record<string, ReadinessCheck> = await readiness().catch((err: unknown) => ({
        readiness: { ok: false, error: err instanceof Error ? err.message : String(err) },
      }));
      const failing = Object.entries(checks).filter(([, c]) => !c.ok);
      for (const [name, check] of Object.entries(checks))
        options.metrics.dependencyUp.set({ dependency: name }, check.ok ? 1 : 0);
      const ready = failing.every(([, c]) => c.degradable);
      const status = failing.length === 0 ? 'ready' : ready ? 'degraded' : 'not-ready';
      sendJson(res, ready ? 200 : 503, { status, checks });
      return;
    }

    const metadata = options.access && metadataTarget(pathname);
    if (metadata) {
      // Public and harmless: before the Host/Origin check, so browser clients can read it.
      sendResourceMetadata(res, metadata, options.access!.metadata);
      return;
    }

    const mcp = MCP_PATH.exec(pathname);
    const origin = headerOf(req.headers.origin);
    const verdict = policy.check(req.headers.host, origin);
    if (!verdict.ok) {
      if (mcp) sendJsonRpcError(res, 403, null, SERVER_ERROR, `Forbidden: ${verdict.reason}`);
      else sendApiError(res, 403, 'forbidden', verdict.reason);
      return;
    }
    if (origin !== undefined) {
      // A browser caller the policy accepts: let it read our answers, errors included
      // (a 404 for a lost session must reach the client for it to re-initialize).
      allowOrigin(res, origin);
      if (req.method === 'OPTIONS') {
        answerPreflight(res, mcp ? 'GET, POST, DELETE' : 'GET, POST');
        return;
      }
    }
    if (mcp) {
      let slug: string;
      try {
        slug = decodeURIComponent(mcp[1]!);
      } catch {
        sendJsonRpcError(res, 400, null, SERVER_ERROR, 'Malformed server name in the path');
        return;
      }
      const search = q === -1 ? '' : rawUrl.slice(q);
      const principal = gate
        ? await gate.admit(
            req,
            res,
            { surface: 'mcp', encodedSlug: mcp[1]!, slug },
            search,
            requestId,
          )
        : ANONYMOUS;
      if (!principal) return;
      const known = fleet.has(slug) ? slug : undefined;
      if (!(await withinRateLimits(options.rateLimits, req, res, principal, 'mcp', known))) return;
      await gateway.handle(req, res, {
        slug,
        requestId,
        search,
        principal,
        ...(gate ? { resourceMetadata: () => gate.metadataUrlOf(mcp[1]!) } : {}),
      });
      return;
    }
    if (pathname.startsWith(API_PREFIX)) {
      const search = q === -1 ? '' : rawUrl.slice(q);
      const principal = gate
        ? await gate.admit(req, res, { surface: 'api' }, search, requestId)
        : ANONYMOUS;
      if (!principal) return;
      if (!(await withinRateLimits(options.rateLimits, req, res, principal, 'api'))) return;
      await api.handle(req, res, new URL(rawUrl, 'http://controller'), principal);
      return;
    }
    if (pathname === '/metrics') {
      const { contentType, body } = await metrics.render();
      res.writeHead(200, {
        'content-type': contentType,
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
      return;
    }
    sendApiError(
      res,
      404,
      'not-found',
      `Nothing at ${pathname}; MCP endpoints are /servers/<slug>/mcp, the API is under /api/v1`,
    );
  }

  const server = createServer(httpServerOptions(limits), (req, res) => {
    route(req, res).catch((err: unknown) => {
      log.error({ err, url: req.url }, 'request failed');
      if (!res.headersSent) sendApiError(res, 500, 'internal', 'Internal error; see the logs');
      else res.destroy();
    });
  });
  // Also answers malformed HTTP (400, 408, 431: connections/client-error-reply.ts).
  const connections = new ConnectionGuard(server, {
    limits,
    logger: log,
    metrics,
    reservedFor: reservedForProbes,
  });

  async function close(graceMs = 5_000): Promise<void> {
    api.close(); // follow streams end now: nothing waits out the grace for them
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    await closed;
    clearTimeout(timer);
    connections.close();
    await gateway.close();
  }

  return { server, gateway, connections, close };
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
