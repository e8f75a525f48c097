// Decisions already made, so a client's next tools/call or tools/list costs a map lookup
// instead of a Cedar evaluation (~0.1 ms each: the request's entities cross into WebAssembly
// as JSON). Keyed by everything a decision reads of the principal — not its id alone: a new
// token for the same subject may carry other groups — plus the server and the tool. An entry
// lasts until its principal's credential expires, or until the policies change (clear()).
// Bounded: the least recently used goes first.
import { LRUCache } from 'lru-cache';
import type { Principal } from '../principal.ts';

export interface PolicyDecision {
  allowed: boolean;
  /**
   * Which rule decided: a policy id (`<slug>:access`, `<slug>:access.tools.allow`,
   * `<slug>:access.tools.deny`, a platform file's `@id` or `<file>:<line>`), several joined by
   * ", ", or `open` when no policy applies to the server at all.
   */
  rule: string;
  /** Why not, in a sentence for the JSON-RPC error (absent when allowed). */
  reason?: string;
  /** A token refused a server whose block names scopes: the scopes that would admit it. */
  scopes?: readonly string[];
}

export const DEFAULT_DECISION_CACHE_SIZE = 10_000;

interface Entry {
  decision: PolicyDecision;
  /** ms since epoch; Infinity for a credential that does not expire. */
  until: number;
}

export class DecisionCache {
  readonly #entries: LRUCache<string, Entry>;
  /** The same principal object (a cached token's) is fingerprinted once. */
  readonly #fingerprints = new WeakMap<Principal, string>();

  constructor(capacity = DEFAULT_DECISION_CACHE_SIZE) {
    this.#entries = new LRUCache({ max: capacity });
  }

  /** `tool` undefined: the use_server decision. */
  key(principal: Principal, slug: string, tool: string | undefined): string {
    let fingerprint = this.#fingerprints.get(principal);
    if (fingerprint === undefined) {
      fingerprint = JSON.stringify([
        principal.id,
        principal.kind,
        principal.name,
        principal.roles,
        principal.groups,
        principal.scopes,
      ]);
      this.#fingerprints.set(principal, fingerprint);
    }
    return tool === undefined ? `${fingerprint}\0${slug}` : `${fingerprint}\0${slug}\0${tool}`;
  }

  get(key: string, now = Date.now()): PolicyDecision | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.until > now) return entry.decision;
    this.#entries.delete(key);
    return undefined;
  }

  set(key: string, decision: PolicyDecision, principal: Principal): void {
    this.#entries.set(key, { decision, until: principal.expiresAt ?? Infinity });
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
