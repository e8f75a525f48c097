// The 429 a rate limit answers: Retry-After in whole seconds (at least 1), and the body each
// surface's clients read — a JSON-RPC error on an MCP endpoint, the API's { error } shape on
// /api/v1 — naming which budget ran out and its size, so the caller knows what to slow down.
import type { ServerResponse } from 'node:http';
import { sendSurfaceError } from '../gateway/surface-error.ts';
import type { RateVerdict } from './rate-limits.ts';

export type RefusedRate = Extract<RateVerdict, { admitted: false }>;

export function rateLimitedMessage(refusal: RefusedRate, server: string | undefined): string {
  const whose =
    refusal.scope === 'server' ? `server "${server ?? ''}" (every caller together)` : 'this caller';
  return `Rate limited: ${whose} is over ${refusal.limit}; retry in ${refusal.retryAfterSeconds} s`;
}

export function sendRateLimited(
  res: ServerResponse,
  refusal: RefusedRate,
  surface: 'mcp' | 'api',
  server?: string,
): void {
  sendSurfaceError(res, surface, {
    status: 429,
    code: 'rate-limited',
    message: rateLimitedMessage(refusal, server),
    data: {
      scope: refusal.scope,
      limit: refusal.limit,
      retryAfterSeconds: refusal.retryAfterSeconds,
    },
    headers: { 'retry-after': String(refusal.retryAfterSeconds) },
  });
}
