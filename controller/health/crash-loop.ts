// Crash-loop detection and restart backoff. Each crash or failed start is remembered for a
// window; too many inside it means restarting will not help, and the server is `failed`
// until someone intervenes (wake, or a spec change). Between tries, exponential backoff.

export interface CrashLoopOptions {
  /** Crashes inside the window that make it a loop; default 3. */
  threshold?: number;
  /** Default 60 s. */
  windowMs?: number;
  /** First restart delay; doubles per recent crash; default 250 ms. */
  baseBackoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
}

export class CrashLoop {
  private readonly threshold: number;
  private readonly windowMs: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private crashes: number[] = [];

  constructor(options: CrashLoopOptions = {}) {
    this.threshold = options.threshold ?? 3;
    this.windowMs = options.windowMs ?? 60_000;
    this.baseBackoffMs = options.baseBackoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
  }

  /** Records a crash; true when it makes a crash loop. */
  record(now = Date.now()): boolean {
    this.crashes = this.crashes.filter((at) => now - at < this.windowMs);
    this.crashes.push(now);
    return this.crashes.length >= this.threshold;
  }

  /** Recent crashes inside the window. */
  recent(now = Date.now()): number {
    return this.crashes.filter((at) => now - at < this.windowMs).length;
  }

  /** Delay before the next restart: base × 2^(recent crashes − 1), capped. */
  backoffMs(now = Date.now()): number {
    const n = Math.max(1, this.recent(now));
    return Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** (n - 1));
  }

  reset(): void {
    this.crashes = [];
  }
}
