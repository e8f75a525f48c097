// The rate limits at the door, right after the access gate admitted the caller: true to go on,
// or false when a 429 has been answered.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/principal.ts';
import { callerKeyOf } from './caller-key.ts';
import { sendRateLimited } from './rate-limited-reply.ts';
import type { RateLimits } from './rate-limits.ts';

export async function withinRateLimits(
  limits: RateLimits | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  principal: Principal,
  surface: 'mcp' | 'api',
  /** An MCP endpoint's server, when it exists (an unknown slug spends no server's budget). */
  server?: string,
): Promise<boolean> {
  if (!limits || limits.off) return true;
  const verdict = await limits.admit(callerKeyOf(principal, req), server, surface);
  if (verdict.admitted) return true;
  sendRateLimited(res, verdict, surface, server);
  return false;
}
