// Callers refused a moment ago, and until when: their next requests are refused on the spot,
// spending no counter — a caller flooding past its budget costs Redis nothing until its window
// ends, and never reaches the server's budget. Bounded: past MAX_ENTRIES the lapsed entries go,
// and if every entry is live the oldest does (it is then checked against the counters again).
const MAX_ENTRIES = 10_000;

export class RecentRefusals {
  readonly #until = new Map<string, number>();

  /** Milliseconds `key` stays refused, or 0. */
  remaining(key: string, now: number): number {
    const until = this.#until.get(key);
    if (until === undefined) return 0;
    if (until > now) return until - now;
    this.#until.delete(key);
    return 0;
  }

  remember(key: string, until: number, now: number): void {
    if (this.#until.size >= MAX_ENTRIES) {
      for (const [k, u] of this.#until) if (u <= now) this.#until.delete(k);
      if (this.#until.size >= MAX_ENTRIES) this.#until.delete(this.#until.keys().next().value!);
    }
    this.#until.delete(key); // re-inserted last: the Map's order is oldest first
    this.#until.set(key, until);
  }
}
