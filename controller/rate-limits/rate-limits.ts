// The gateway's rate limits: a budget per caller (rate-limits/caller-key.ts) and one per server,
// checked after the access gate admitted the caller, so an unauthenticated flood, refused by the
// gate, spends nobody's budget. Both budgets are asked at once (with Redis: one round trip per
// request, not two). A request the caller's budget refuses must not spend the server's, or one
// runaway client would use up everyone's: its server request is refunded, and the caller stays
// refused on the spot (recent-refusals.ts) until its budget has room, spending nothing more.
// A check never holds a request: Redis away, it is decided in-process; anything else
// unexpected admits (a limit is protection, not the thing protected), with a log line.
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../observability/log.ts';
import type { Metrics } from '../observability/metrics.ts';
import { limitCounter, type CounterStore, type LimitCounter } from './limit-counter.ts';
import { describeRate, type RateLimitSettings } from './rate-limit-settings.ts';
import { RecentRefusals } from './recent-refusals.ts';

/** Which budget ran out. */
export type RateScope = 'principal' | 'server';

export type RateVerdict =
  | { admitted: true }
  | {
      admitted: false;
      scope: RateScope;
      /** Whole seconds until the budget has room again, at least 1. */
      retryAfterSeconds: number;
      /** The same, exactly. */
      retryAfterMs: number;
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
  readonly #refused = new RecentRefusals();

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
    const verdict = await this.#decide(caller, server);
    if (!verdict.admitted)
      this.#metrics.rateLimited.inc({ scope: verdict.scope, surface, server: server ?? '' });
    return verdict;
  }

  async #decide(caller: string, server: string | undefined): Promise<RateVerdict> {
    const now = Date.now();
    const waitMs = this.#refused.remaining(caller, now);
    if (waitMs > 0 && this.#principal) return this.#refusal('principal', waitMs, this.#principal);
    const serverBudget = server !== undefined ? this.#server : undefined;
    const [byCaller, byServer] = await Promise.all([
      this.#spend(this.#principal, caller, 'principal'),
      this.#spend(serverBudget, server ?? '', 'server'),
    ]);
    if (byCaller && !byCaller.admitted) {
      this.#refused.remember(caller, now + byCaller.retryAfterMs, now);
      if (serverBudget && !byServer)
        serverBudget.counter.refund(server!).catch((err: unknown) => {
          this.#logger.warn({ err, server }, 'rate limits: could not refund a server request');
        });
      return byCaller;
    }
    return byServer ?? ADMITTED;
  }

  #refusal(scope: RateScope, waitMs: number, budget: Budget): RateVerdict {
    return {
      admitted: false,
      scope,
      retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
      retryAfterMs: waitMs,
      limit: budget.description,
    };
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
      if (err instanceof RateLimiterRes) return this.#refusal(scope, err.msBeforeNext, budget);
      this.#logger.error({ err, scope }, 'rate limit check failed; admitting the request');
      return undefined;
    }
  }
}
