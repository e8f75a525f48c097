// Who holds which of a server's live sessions, and when each was last used: what the
// per-client limit counts and the idle timeout reads. A session counts for its client from
// its initialize (reserved while the initialize is in flight, so a burst of initializes from
// one client cannot all pass the check before any of them is answered) until it ends. "Used"
// means a request other than ping, or a request still in flight: a long tool call is not idle.

interface Held {
  client: string;
  lastActivity: number;
  inFlight: number;
}

/** Stands for a client whose record predates client keys (or a replica that lost it). */
export const UNKNOWN_CLIENT = 'unknown';

export class SessionActivity {
  private readonly held = new Map<string, Held>();
  /** Initializes admitted and not yet answered, by client. */
  private readonly reserved = new Map<string, number>();

  /** A session is live here (opened, adopted or replayed). */
  hold(id: string, client: string | undefined, now = Date.now()): void {
    const known = this.held.get(id);
    if (known) return;
    this.held.set(id, { client: client ?? UNKNOWN_CLIENT, lastActivity: now, inFlight: 0 });
  }

  drop(id: string): void {
    this.held.delete(id);
  }

  clear(): void {
    this.held.clear();
  }

  /** A request of the session began; `activity` false for a ping (it proves only liveness). */
  begin(id: string, activity: boolean, now = Date.now()): () => void {
    const held = this.held.get(id);
    if (!held) return () => {};
    held.inFlight++;
    if (activity) held.lastActivity = now;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      held.inFlight--;
      if (activity) held.lastActivity = Date.now();
    };
  }

  /** The session was used at `at` through another controller replica. */
  usedElsewhere(id: string, at: number): void {
    const held = this.held.get(id);
    if (held && at > held.lastActivity) held.lastActivity = at;
  }

  /** An initialize of `client` was admitted; the returned function ends the reservation. */
  reserve(client: string): () => void {
    this.reserved.set(client, (this.reserved.get(client) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.reserved.get(client) ?? 1) - 1;
      if (left > 0) this.reserved.set(client, left);
      else this.reserved.delete(client);
    };
  }

  /** Sessions `client` holds here, counting initializes in flight. */
  countOf(client: string): number {
    let count = this.reserved.get(client) ?? 0;
    for (const held of this.held.values()) if (held.client === client) count++;
    return count;
  }

  /** Initializes in flight, every client. */
  get reservations(): number {
    let count = 0;
    for (const n of this.reserved.values()) count += n;
    return count;
  }

  /** Sessions unused for `idleMs` with nothing in flight. */
  idle(idleMs: number, now = Date.now()): string[] {
    const cutoff = now - idleMs;
    return [...this.held.entries()]
      .filter(([, held]) => held.inFlight === 0 && held.lastActivity <= cutoff)
      .map(([id]) => id);
  }

  /**
   * Seconds until the first session (of `client`, or any) may be ended for idleness: when
   * retrying could succeed. At least 1.
   */
  secondsUntilOneFrees(idleMs: number, client?: string, now = Date.now()): number {
    let soonest = idleMs;
    for (const held of this.held.values()) {
      if (client !== undefined && held.client !== client) continue;
      soonest = Math.min(soonest, held.lastActivity + idleMs - now);
    }
    return Math.max(1, Math.ceil(soonest / 1000));
  }

  get size(): number {
    return this.held.size;
  }
}
