// When restarting a server will not help, and how long to wait between tries. Two counts:
//   - troubles (crashes, failed health checks, failed starts) inside a window set the backoff
//     before the next restart: base × 2^(recent − 1), capped;
//   - failed starts in a row make the server `failed` (until a wake or a spec change). Only
//     starts count: a server that starts and later crashes is restarted, with backoff, for as
//     long as it takes; a process of one session that crashes ends that session and nothing
//     else. A start that succeeds ends the run; so does the window passing.

export interface CrashLoopOptions {
  /** Failed starts in a row (inside the window) that make the server failed; default 3. */
  threshold?: number;
  /** Default 60 s. */
  windowMs?: number;
  /** First restart delay; doubles per recent trouble; default 250 ms. */
  baseBackoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
}

export class CrashLoop {
  private readonly threshold: number;
  private readonly windowMs: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private troubles: number[] = [];
  private failedStarts: number[] = [];

  constructor(options: CrashLoopOptions = {}) {
    this.threshold = options.threshold ?? 3;
    this.windowMs = options.windowMs ?? 60_000;
    this.baseBackoffMs = options.baseBackoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
  }

  /** Records a crash or failed health run of a server that had started: backoff only. */
  record(now = Date.now()): void {
    this.troubles = this.inWindow(this.troubles, now);
    this.troubles.push(now);
  }

  /** Records a failed start; true when it makes `threshold` in a row: give up. */
  startFailed(now = Date.now()): boolean {
    this.record(now);
    this.failedStarts = this.inWindow(this.failedStarts, now);
    this.failedStarts.push(now);
    return this.failedStarts.length >= this.threshold;
  }

  /** A start succeeded: the run of failed starts is over (the backoff still remembers). */
  started(): void {
    this.failedStarts = [];
  }

  /** Failed starts in the current run. */
  failedStartsInARow(now = Date.now()): number {
    return this.inWindow(this.failedStarts, now).length;
  }

  /** Recent troubles inside the window. */
  recent(now = Date.now()): number {
    return this.inWindow(this.troubles, now).length;
  }

  /** Delay before the next restart: base × 2^(recent troubles − 1), capped. */
  backoffMs(now = Date.now()): number {
    const n = Math.max(1, this.recent(now));
    return Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** (n - 1));
  }

  reset(): void {
    this.troubles = [];
    this.failedStarts = [];
  }

  private inWindow(times: number[], now: number): number[] {
    return times.filter((at) => now - at < this.windowMs);
  }
}
