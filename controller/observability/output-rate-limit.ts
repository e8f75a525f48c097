// A server's process output is the one log source the controller does not write itself, and a
// server can write to stderr as fast as a pipe takes it (2.6 GB of log in 65 s, seen). So every
// line of a replica's output (all its processes, both streams, and the controller's warnings
// about garbage on a stdio server's stdout) takes a token from one bucket: `burst` lines at
// once, then `linesPerSecond`. A line without a token is counted, not logged, which samples a
// flood at the bucket's rate; once per interval one line says how many were dropped, and the
// drops go to metrics. While lines are dropped the server is flooding: `onFlood` gets a reason
// at the first drop and null after an interval without any, and nothing runs in between
// (no timer) while the output stays under the limit.
import type { Logger } from './log.ts';

export type OutputStream = 'stdout' | 'stderr';

export interface OutputRateOptions {
  /** Lines per second logged once the burst is spent; default 100. */
  linesPerSecond?: number;
  /** Lines logged at once before the rate applies; default 1000. */
  burst?: number;
  /** How often a flood's drops are summed up (one line, metrics); default 10 s. */
  intervalMs?: number;
}

export interface OutputRateHooks {
  /** `count` lines of `stream` were dropped since the last call (once per interval). */
  onDropped?(stream: OutputStream, count: number): void;
  /** The output went over the limit (a reason), or has stayed under it for an interval (null). */
  onFlood?(reason: string | null): void;
}

export const DEFAULT_OUTPUT_RATE = { linesPerSecond: 100, burst: 1000, intervalMs: 10_000 };

export class OutputRateLimit {
  private readonly logger: Logger;
  private readonly server: string;
  private readonly rate: number;
  private readonly burst: number;
  private readonly intervalMs: number;
  private readonly hooks: OutputRateHooks;
  private tokens: number;
  private refilledAt = performance.now();
  private readonly dropped: Record<OutputStream, number> = { stdout: 0, stderr: 0 };
  private timer: NodeJS.Timeout | undefined;
  /** Its replica is gone: late lines are still limited, but start no flood. */
  private closed = false;

  constructor(
    logger: Logger,
    server: string,
    options: OutputRateOptions = {},
    hooks: OutputRateHooks = {},
  ) {
    this.logger = logger;
    this.server = server;
    this.rate = positive(
      options.linesPerSecond ?? DEFAULT_OUTPUT_RATE.linesPerSecond,
      'linesPerSecond',
    );
    this.burst = positive(options.burst ?? DEFAULT_OUTPUT_RATE.burst, 'burst');
    this.intervalMs = positive(options.intervalMs ?? DEFAULT_OUTPUT_RATE.intervalMs, 'intervalMs');
    this.hooks = hooks;
    this.tokens = this.burst;
  }

  /** Whether the server is over its limit now. */
  get flooding(): boolean {
    return this.timer !== undefined;
  }

  /** True: log this line of `stream`. False: it was counted as dropped. */
  admit(stream: OutputStream): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.rate) / 1000);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.dropped[stream]++;
    if (!this.timer && !this.closed) this.startFlood();
    return false;
  }

  /** The replica is gone: what was dropped is reported, and the flood (if any) is over. */
  close(): void {
    this.closed = true;
    for (const [replica, limit] of byReplica) if (limit === this) byReplica.delete(replica);
    if (!this.timer) return;
    this.report();
    this.endFlood();
  }

  private startFlood(): void {
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
    const reason =
      `log flood: its output is over ${this.rate} lines/s (burst ${this.burst}); ` +
      'the lines beyond are dropped';
    this.logger.warn(
      { linesPerSecond: this.rate, burst: this.burst },
      `server ${this.server}: ${reason}`,
    );
    this.hooks.onFlood?.(reason);
  }

  private tick(): void {
    if (!this.report()) this.endFlood();
  }

  /** Logs and hands on the drops of the interval; false when there were none. */
  private report(): boolean {
    let any = false;
    for (const stream of ['stderr', 'stdout'] as const) {
      const count = this.dropped[stream];
      if (count === 0) continue;
      any = true;
      this.dropped[stream] = 0;
      this.logger.warn(
        { stream, dropped: count, intervalMs: this.intervalMs },
        `server ${this.server}: dropped ${count} ${stream} lines in the last ${seconds(this.intervalMs)}`,
      );
      this.hooks.onDropped?.(stream, count);
    }
    return any;
  }

  private endFlood(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.logger.info(`server ${this.server}: output back under ${this.rate} lines/s`);
    this.hooks.onFlood?.(null);
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`output rate limit: ${name} must be a positive number, got ${value}`);
  }
  return value;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

// The limit of a replica's output travels with the logger its processes log through (the one
// bound to { server, replica }), and with any child of it (same `replica` binding): every
// process of the replica and both its streams share it, wherever they are spawned. A logger
// nobody attached a limit to (the bridge in a pod) gets one of its own, with the defaults.
const byLogger = new WeakMap<Logger, OutputRateLimit>();
const byReplica = new Map<string, OutputRateLimit>();

export function attachOutputRateLimit(logger: Logger, limit: OutputRateLimit): void {
  byLogger.set(logger, limit);
  const replica = logger.bindings().replica;
  if (typeof replica === 'string') byReplica.set(replica, limit);
}

export function outputRateLimitOf(logger: Logger): OutputRateLimit {
  let limit = byLogger.get(logger);
  if (limit) return limit;
  const { server, replica } = logger.bindings();
  limit = typeof replica === 'string' ? byReplica.get(replica) : undefined;
  limit ??= new OutputRateLimit(logger, typeof server === 'string' ? server : 'the MCP server');
  byLogger.set(logger, limit);
  return limit;
}
