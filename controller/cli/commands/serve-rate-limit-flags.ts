// `mcpfleet serve` flags for the rate limits (controller/rate-limits/): a rate per caller and
// per server, each with its burst; 0 turns a limit off. Unset: the defaults beyond loopback,
// nothing on loopback (rate-limits/rate-limit-settings.ts says why).
import { Option, type Command } from 'commander';
import {
  DEFAULT_PER_PRINCIPAL,
  DEFAULT_PER_SERVER,
  describeRate,
  parseRate,
  type RateLimit,
  type RateLimitSettings,
  type WrittenRate,
} from '../../rate-limits/rate-limit-settings.ts';
import { parser } from '../option-parser.ts';
import { parseCount } from './serve-connection-flags.ts';

export interface RateLimitFlags {
  rateLimit?: WrittenRate;
  rateLimitBurst?: number;
  serverRateLimit?: WrittenRate;
  serverRateLimitBurst?: number;
}

export function addRateLimitOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--rate-limit <rate>',
        "requests per caller (a principal; an anonymous caller's address), e.g. 50/s or " +
          `600/min; over it, 429 with Retry-After. 0: off (default beyond loopback ${describeRate(DEFAULT_PER_PRINCIPAL)}, on loopback off)`,
      )
        .env('MCPFLEET_RATE_LIMIT')
        .argParser(parser(parseRate)),
    )
    .addOption(
      new Option(
        '--rate-limit-burst <n>',
        'requests a caller may make beyond its rate, spread over 10 windows (default: twice the rate)',
      )
        .env('MCPFLEET_RATE_LIMIT_BURST')
        .argParser(parser(parseCount)),
    )
    .addOption(
      new Option(
        '--server-rate-limit <rate>',
        'requests per server, every caller together, e.g. 500/s. 0: off ' +
          `(default beyond loopback ${describeRate(DEFAULT_PER_SERVER)}, on loopback off)`,
      )
        .env('MCPFLEET_SERVER_RATE_LIMIT')
        .argParser(parser(parseRate)),
    )
    .addOption(
      new Option(
        '--server-rate-limit-burst <n>',
        'requests a server may take beyond its rate, spread over 10 windows (default: twice the rate)',
      )
        .env('MCPFLEET_SERVER_RATE_LIMIT_BURST')
        .argParser(parser(parseCount)),
    );
}

/** One limit from its two flags: a burst alone applies to the default rate. */
function limitOf(
  rate: WrittenRate | undefined,
  burst: number | undefined,
  fallback: RateLimit,
): RateLimit | null | undefined {
  if (rate === 'off') return null;
  if (rate === undefined) return burst === undefined ? undefined : { ...fallback, burst };
  return { ...rate, burst: burst ?? 2 * rate.points };
}

/** The limits given; unset ones stay default. */
export function rateLimitSettingsOf(flags: RateLimitFlags): Partial<RateLimitSettings> {
  const perPrincipal = limitOf(flags.rateLimit, flags.rateLimitBurst, DEFAULT_PER_PRINCIPAL);
  const perServer = limitOf(flags.serverRateLimit, flags.serverRateLimitBurst, DEFAULT_PER_SERVER);
  return {
    ...(perPrincipal !== undefined ? { perPrincipal } : {}),
    ...(perServer !== undefined ? { perServer } : {}),
  };
}

export const RATE_LIMIT_HELP = `
Rate limits (README "Rate limits"): counted after the access gate admitted a request, so a
caller refused 401/403 spends nobody's budget; /healthz, /readyz and /metrics are never
limited. With --redis-url every replica spends one shared budget; while Redis does not answer
each replica limits alone (logged; mcpfleet_rate_limit_fallbacks_total). Refusals:
mcpfleet_rate_limited_total{scope,surface,server}.
`;
