// Replicas follow live sessions: ceil(sessions / sessionsPerReplica) within
// [max(1, minReplicas), maxReplicas] while a server is awake. Scaling up is immediate (a new
// session should not wait); scaling down waits out a stabilization window and then goes to the
// highest recommendation seen inside it (the HPA's rule), so sessions that come and go do not
// make pods flap. Only the decision lives here; the fleet applies it through the runtime.
import type { Scaling } from '../../registry/catalog/spec.ts';

export const DEFAULT_SCALE_DOWN_WINDOW_MS = 60_000;

export function recommendedReplicas(sessions: number, scaling: Scaling): number {
  const floor = Math.max(1, scaling.minReplicas);
  const wanted = Math.ceil(sessions / Math.max(1, scaling.sessionsPerReplica));
  return Math.min(Math.max(wanted, floor), Math.max(floor, scaling.maxReplicas));
}

export class SessionScaler {
  private readonly scaling: Scaling;
  private readonly windowMs: number;
  private history: { at: number; replicas: number }[] = [];

  constructor(scaling: Scaling, windowMs = DEFAULT_SCALE_DOWN_WINDOW_MS) {
    this.scaling = scaling;
    this.windowMs = windowMs;
  }

  /**
   * The replica count to run now, given the live sessions and the count running: up at once,
   * down only to the highest recommendation of the last window.
   */
  decide(sessions: number, current: number, now = Date.now()): number {
    const recommended = recommendedReplicas(sessions, this.scaling);
    this.history.push({ at: now, replicas: recommended });
    this.history = this.history.filter((entry) => entry.at > now - this.windowMs);
    if (recommended >= current) return recommended;
    return Math.min(current, Math.max(...this.history.map((entry) => entry.replicas)));
  }

  /** When a scale-down held back now may be allowed: the oldest higher entry leaves the window. */
  nextReview(now = Date.now()): number | undefined {
    const oldest = this.history[0];
    return oldest ? oldest.at + this.windowMs - now : undefined;
  }

  reset(): void {
    this.history = [];
  }
}
