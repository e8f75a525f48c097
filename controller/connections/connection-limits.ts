// The HTTP layer's limits on client connections, and how they map onto node:http's own
// timers. A greedy client (tens of thousands of idle sockets, headers that never end, a body
// trickled a byte at a time) must not exhaust the controller's descriptors or hold them.
import type { ServerOptions } from 'node:http';
import { descriptorLimit } from './descriptor-limit.ts';

export interface ConnectionLimits {
  /** Open client connections at most; past it the oldest idle one is closed to make room. */
  maxConnections: number;
  /** The last `probeReserve` slots below the cap serve only probes and the management API. */
  probeReserve: number;
  /**
   * From accept (for a later request on a kept-alive connection, from its first byte) to
   * complete request headers; a socket that never sends a byte is closed then too, with 408.
   * Between requests node:http's keep-alive timeout (30 s) applies instead.
   */
  headersTimeoutMs: number;
  /** From the headers to the end of a request body (MCP POSTs) → 408. */
  bodyTimeoutMs: number;
  /** How often the counts of refused, evicted and timed-out connections are logged. */
  logIntervalMs: number;
}

export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;
const DEFAULT_LOG_INTERVAL_MS = 10_000;
/** Keep-alive between requests on one connection (node:http's keepAliveTimeout). */
const KEEP_ALIVE_TIMEOUT_MS = 30_000;
/** Descriptors kept for everything but client sockets: children's pipes, store, Redis, files. */
const OTHER_DESCRIPTORS = 128;
const MIN_CONNECTIONS = 16;
/**
 * An idle connection costs about 6 KB of the controller's memory (measured: 8,000 idle
 * sockets, +46 MB RSS), so a pod's usual nofile of 1,048,576 must not become the cap: 16,384
 * of them are under 100 MB. More, when wanted, is --max-connections.
 */
const MAX_DEFAULT_CONNECTIONS = 16_384;

/**
 * Half of what the descriptor limit leaves after the controller's own needs (a proxied
 * request holds an upstream socket or a child's pipes besides the client's), within a
 * memory-minded ceiling.
 */
export function defaultMaxConnections(limit = descriptorLimit()): number {
  const byDescriptors = Math.floor((limit - OTHER_DESCRIPTORS) / 2);
  return Math.min(MAX_DEFAULT_CONNECTIONS, Math.max(MIN_CONNECTIONS, byDescriptors));
}

/** A few slots for the kubelet's probes and an operator's CLI; a 16th of the cap at most. */
export function defaultProbeReserve(maxConnections: number): number {
  return Math.min(32, Math.max(1, Math.floor(maxConnections / 16)));
}

const DEADLINES = [
  ['headersTimeoutMs', 'headers timeout'],
  ['bodyTimeoutMs', 'body timeout'],
  ['logIntervalMs', 'log interval'],
] as const;

/** Fills in defaults and refuses combinations that cannot work, with the reason. */
export function resolveConnectionLimits(given: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const maxConnections = given.maxConnections ?? defaultMaxConnections();
  if (!Number.isInteger(maxConnections) || maxConnections < 2) {
    throw new Error(`max connections must be a whole number ≥ 2 (got ${maxConnections})`);
  }
  const probeReserve = given.probeReserve ?? defaultProbeReserve(maxConnections);
  if (!Number.isInteger(probeReserve) || probeReserve < 0 || probeReserve >= maxConnections) {
    throw new Error(
      `the probe reserve must be a whole number from 0 to max connections - 1 (${maxConnections - 1}); got ${probeReserve}`,
    );
  }
  const limits = {
    maxConnections,
    probeReserve,
    headersTimeoutMs: given.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
    bodyTimeoutMs: given.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
    logIntervalMs: given.logIntervalMs ?? DEFAULT_LOG_INTERVAL_MS,
  };
  for (const [key, name] of DEADLINES) {
    if (!(limits[key] > 0))
      throw new Error(`the ${name} must be more than 0 (got ${limits[key]} ms)`);
  }
  return limits;
}

/**
 * node:http already closes what we need closed, given the right numbers: headersTimeout
 * counts from accept, so a silent socket gets 408 and is closed (Node 22 checks every
 * connectionsCheckingInterval; its default of 30 s would let them pile up for 30 s more).
 * requestTimeout is only a backstop for the body: the gateway's own deadline (read-body.ts)
 * fires first and answers with a JSON-RPC error.
 */
export function httpServerOptions(limits: ConnectionLimits): ServerOptions {
  return {
    noDelay: true,
    keepAlive: true,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.headersTimeoutMs + limits.bodyTimeoutMs + 1_000,
    connectionsCheckingInterval: Math.min(
      5_000,
      Math.max(50, Math.floor(limits.headersTimeoutMs / 4)),
    ),
  };
}
