// CrashLoopBackOff as kubelet computes it (client-go flowcontrol.Backoff keyed per container):
// the first restart is immediate; after that a container that dies within the current window
// waits until finishedAt + window, and the window doubles up to the cap. A container that ran
// longer than twice the cap starts over at the initial window.
export interface BackoffSettings {
  /** kubelet: 10 s */
  initialMs: number;
  /** kubelet: 300 s */
  maxMs: number;
}

export const KUBELET_BACKOFF: BackoffSettings = { initialMs: 10_000, maxMs: 300_000 };

export class CrashLoopBackoff {
  private readonly settings: BackoffSettings;
  private entry: { backoffMs: number; lastUpdate: number } | undefined;

  constructor(settings: BackoffSettings) {
    this.settings = settings;
  }

  private expired(eventTime: number): boolean {
    return !this.entry || eventTime - this.entry.lastUpdate > this.settings.maxMs * 2;
  }

  /** How long to wait before restarting a container that finished at finishedAt (0: now). */
  delayMs(finishedAt: number, now = Date.now()): number {
    if (this.expired(finishedAt)) return 0;
    return Math.max(0, this.entry!.backoffMs - (now - finishedAt));
  }

  /** The current window, for the CrashLoopBackOff message. */
  windowMs(): number {
    return this.entry?.backoffMs ?? 0;
  }

  /** Records a restart after a death at finishedAt (Backoff.Next): the window starts or doubles. */
  next(finishedAt: number, now = Date.now()): void {
    if (this.expired(finishedAt))
      this.entry = { backoffMs: this.settings.initialMs, lastUpdate: now };
    else {
      this.entry!.backoffMs = Math.min(this.entry!.backoffMs * 2, this.settings.maxMs);
      this.entry!.lastUpdate = now;
    }
  }
}

/** Go's time.Duration.String() for whole milliseconds: 10s, 5m0s, 1m20s, 250ms. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalSeconds = ms / 1000;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = Number((totalSeconds % 60).toFixed(3));
  if (hours) return `${hours}h${minutes}m${seconds}s`;
  if (minutes) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
