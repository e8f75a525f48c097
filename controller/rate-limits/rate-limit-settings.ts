// How much one caller, and one server, may ask of the gateway (`mcpfleet serve --rate-limit`,
// --server-rate-limit and their bursts): a rate per window, plus a burst on top for the moments
// an agent fans out. The defaults are for a controller other people reach (beyond loopback):
// far above what a person or an agent sends, low enough that a client stuck in a loop cannot
// take the gateway from everyone else. On loopback (a laptop, its tests and benches) every
// caller is a process of the one person at the keyboard, so nothing is limited unless asked.
import { parseDuration } from '../../registry/catalog/duration.ts';
import { isLoopbackHostname } from '../gateway/validate-request.ts';

export interface RateLimit {
  /** Requests admitted per window. */
  points: number;
  /** Whole seconds (Redis keeps the window as a key's TTL). */
  windowSeconds: number;
  /**
   * Requests admitted beyond the rate, over BURST_WINDOWS windows: a fan-out of parallel calls
   * passes, a sustained flood does not. 0: no burst.
   */
  burst: number;
}

export interface RateLimitSettings {
  /** Per caller: an authenticated principal, or an anonymous caller's address. Null: off. */
  perPrincipal: RateLimit | null;
  /** Per server, every caller together. Null: off. */
  perServer: RateLimit | null;
  /** Where the shared counters live in Redis; tests give each run its own. */
  keyPrefix: string;
  /**
   * Bound on a check that asks Redis: a Redis that stops answering costs each request at most
   * this, then the check is decided in-process.
   */
  redisTimeoutMs: number;
}

/** The burst is spread over this many windows (10 s for a per-second rate). */
export const BURST_WINDOWS = 10;

/**
 * 50 requests a second per caller: an MCP client sends one POST per tool call, and a busy
 * agent a handful a second; a burst of 100 lets a fan-out of parallel calls through.
 */
export const DEFAULT_PER_PRINCIPAL: RateLimit = Object.freeze({
  points: 50,
  windowSeconds: 1,
  burst: 100,
});

/** 500 a second per server: ten callers at their full rate, more than one server process serves. */
export const DEFAULT_PER_SERVER: RateLimit = Object.freeze({
  points: 500,
  windowSeconds: 1,
  burst: 1000,
});

export const DEFAULT_KEY_PREFIX = 'mcpfleet:ratelimit';
export const DEFAULT_REDIS_TIMEOUT_MS = 250;

/**
 * The settings in force: what was given, else the defaults beyond loopback and nothing on
 * loopback. `null` for a limit given as 0 (off).
 */
export function resolveRateLimits(
  given: Partial<RateLimitSettings> = {},
  listenHost: string,
): RateLimitSettings {
  const loopback = isLoopbackHostname(listenHost);
  return {
    perPrincipal:
      given.perPrincipal !== undefined
        ? given.perPrincipal
        : loopback
          ? null
          : DEFAULT_PER_PRINCIPAL,
    perServer:
      given.perServer !== undefined ? given.perServer : loopback ? null : DEFAULT_PER_SERVER,
    keyPrefix: given.keyPrefix ?? DEFAULT_KEY_PREFIX,
    redisTimeoutMs: given.redisTimeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS,
  };
}

const RATE = /^(\d+)\s*\/\s*(\S+)$/;
const UNIT_WINDOWS: Record<string, string> = { s: '1s', sec: '1s', m: '1m', min: '1m', h: '1h' };

/** A rate as written, before its burst (its own setting) joins it; 'off' for "0". */
export type WrittenRate = Omit<RateLimit, 'burst'> | 'off';

/**
 * "50/s", "600/min", "10/30s" → a rate; "0" or "off" → 'off' (not null: commander takes a
 * parser's null for "no value"). Throws an Error that shows the form.
 */
export function parseRate(text: string): WrittenRate {
  const trimmed = text.trim();
  if (trimmed === '0' || trimmed === 'off') return 'off';
  const match = RATE.exec(trimmed);
  const form = 'use requests/window, like 50/s, 600/min or 10/30s (0 turns the limit off)';
  if (!match) throw new Error(`"${text}" is not a rate: ${form}`);
  const points = Number(match[1]);
  const unit = match[2]!;
  let windowMs: number;
  try {
    windowMs = parseDuration(UNIT_WINDOWS[unit] ?? unit);
  } catch {
    throw new Error(`"${text}": "${unit}" is not a window: ${form}`);
  }
  if (points < 1 || !Number.isSafeInteger(points)) throw new Error(`"${text}": ${form}`);
  if (windowMs < 1000 || windowMs % 1000 !== 0)
    throw new Error(`"${text}": the window must be whole seconds, at least 1s`);
  return { points, windowSeconds: windowMs / 1000 };
}

/** 50 per 1 s with burst 100 → "50/s (+100 burst)", for logs, refusals and --help. */
export function describeRate(limit: RateLimit): string {
  const window = limit.windowSeconds === 1 ? 's' : `${limit.windowSeconds}s`;
  return `${limit.points}/${window}${limit.burst > 0 ? ` (+${limit.burst} burst)` : ''}`;
}
