// The gateway's rate limits: a budget per caller (rate-limits/caller-key.ts) and one per server,
// checked after the access gate admitted the caller, so an unauthenticated flood, refused by the
// gate, spends nobody's budget. The caller's budget is checked first: a request it refuses does
// not spend the server's, or one runaway client would use up everyone's. A check never holds
// a request: Redis away, it is decided in-process; anything else unexpected admits (a limit is
// protection, not the thing protected), with a log line.
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../observability/log.ts';
import type { Metrics } from '../observability/metrics.ts';
import { limitCounter, type CounterStore, type LimitCounter } from './limit-counter.ts';
import { describeRate, type RateLimitSettings } from './rate-limit-settings.ts';

/** Which budget ran out. */
export type RateScope = 'principal' | 'server';

export type RateVerdict =
  | { admitted: true }
  | {
      admitted: false;
      scope: RateScope;
      /** Whole seconds until the budget has room again, at least 1. */
      retryAfterSeconds: number;
      /** The limit, as "50/1s (+100 burst)". */
      limit: string;
    };

const ADMITTED: RateVerdict = Object.freeze({ admitted: true });

interface Budget {
  counter: LimitCounter;
  description: string;
}

export class RateLimits {
  readonly #principal: Budget | undefined;
  readonly #server: Budget | undefined;
  readonly #logger: Logger;
  readonly #metrics: Metrics;

  constructor(settings: RateLimitSettings, store: CounterStore, logger: Logger, metrics: Metrics) {
    const budget = (limit: RateLimitSettings['perServer'], kind: string): Budget | undefined =>
      limit
        ? {
            counter: limitCounter(limit, `${settings.keyPrefix}:${kind}`, store),
            description: describeRate(limit),
          }
        : undefined;
    this.#principal = budget(settings.perPrincipal, 'principal');
    this.#server = budget(settings.perServer, 'server');
    this.#logger = logger;
    this.#metrics = metrics;
  }

  /** Nothing is limited: the gateway skips the check. */
  get off(): boolean {
    return !this.#principal && !this.#server;
  }

  /**
   * Spends one request of `caller`'s budget and, for an MCP endpoint, one of `server`'s.
   * `surface` only labels the refusal metric.
   */
  async admit(
    caller: string,
    server: string | undefined,
    surface: 'mcp' | 'api',
  ): Promise<RateVerdict> {
    const verdict =
      (await this.#spend(this.#principal, caller, 'principal')) ??
      (server !== undefined ? await this.#spend(this.#server, server, 'server') : undefined) ??
      ADMITTED;
    if (!verdict.admitted)
      this.#metrics.rateLimited.inc({ scope: verdict.scope, surface, server: server ?? '' });
    return verdict;
  }

  async #spend(
    budget: Budget | undefined,
    key: string,
    scope: RateScope,
  ): Promise<RateVerdict | undefined> {
    if (!budget) return undefined;
    try {
      await budget.counter.consume(key);
      return undefined;
    } catch (err) {
      if (err instanceof RateLimiterRes)
        return {
          admitted: false,
          scope,
          retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)),
          limit: budget.description,
        };
      this.#logger.error({ err, scope }, 'rate limit check failed; admitting the request');
      return undefined;
    }
  }
}
