// Tokens already verified, until they expire, so a client's every request after its first
// costs a hash and a map lookup rather than a signature check. Bounded (least recently used
// out first) and keyed by the token's hash, so the map holds no usable credential.
import { createHash } from 'node:crypto';
import type { Principal } from './principal.ts';

export interface VerifiedToken {
  principal: Principal;
  /** The token's `aud` values: a hit must still be for the resource asked about. */
  audiences: readonly string[];
  /** When it stops being accepted (ms since epoch): exp plus the clock tolerance. */
  validUntil: number;
}

export const DEFAULT_VERIFIED_TOKENS = 10_000;

export class VerifiedTokens {
  private readonly entries = new Map<string, VerifiedToken>();

  private readonly capacity: number;

  constructor(capacity = DEFAULT_VERIFIED_TOKENS) {
    this.capacity = capacity;
  }

  static keyOf(token: string): string {
    return createHash('sha256').update(token).digest('base64url');
  }

  get(key: string, now = Date.now()): VerifiedToken | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.validUntil <= now) return undefined;
    this.entries.set(key, entry); // most recently used now
    return entry;
  }

  set(key: string, entry: VerifiedToken): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}
