// The gateway as one object: the MCP handler plus the upstream pools it owns.
import type { AuditLog } from '../audit/audit-log.ts';
import type { ServerPolicies } from '../auth/policy/server-policies.ts';
import type { Fleet } from '../fleet/fleet.ts';
import type { Logger } from '../observability/log.ts';
import type { Metrics } from '../observability/metrics.ts';
import { EraTranslation } from '../eras/era-translation.ts';
import { createMcpHandler, type McpHandler } from './routes.ts';
import { UpstreamPools } from './upstream-pools.ts';

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface GatewayOptions {
  fleet: Fleet;
  metrics: Metrics;
  logger: Logger;
  /** Largest POST body accepted (default 4 MiB); larger → 413. */
  maxBodyBytes?: number;
  /** Bound on waiting for an upstream's response headers (default 120 s) → 504. */
  upstreamHeadersTimeoutMs?: number;
  /** Quiet time before an SSE keep-alive comment on a relayed stream (default 25 s). */
  sseKeepaliveMs?: number;
  /** The whole POST body within this → else 408 with a JSON-RPC error (none when absent). */
  bodyTimeoutMs?: number;
  /** Told of each body that timed out. */
  onBodyTimeout?: () => void;
  /** Records every tools/call (controller/audit/); none when absent. */
  audit?: AuditLog;
  /** Who may use each server and call which tools (auth/policy/); absent: everyone, all. */
  policies?: ServerPolicies;
}

export interface Gateway {
  handle: McpHandler;
  /** Upstream connection pool totals (for tests and diagnostics). */
  upstreamStats(): ReturnType<UpstreamPools['stats']>;
  close(): Promise<void>;
}

export function createGateway(options: GatewayOptions): Gateway {
  const pools = new UpstreamPools({ headersTimeoutMs: options.upstreamHeadersTimeoutMs });
  const handle = createMcpHandler({
    fleet: options.fleet,
    metrics: options.metrics,
    logger: options.logger.child({ component: 'gateway' }),
    pools,
    eras: new EraTranslation(options.logger),
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    sseKeepaliveMs: options.sseKeepaliveMs,
    bodyTimeoutMs: options.bodyTimeoutMs,
    onBodyTimeout: options.onBodyTimeout,
    audit: options.audit,
    policies: options.policies,
  });
  return { handle, upstreamStats: () => pools.stats(), close: () => pools.close() };
}
