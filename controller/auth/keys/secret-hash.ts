// Keys are stored as an HMAC-SHA256 of their secret under the controller's key-hashing secret:
// a leaked database row cannot be turned back into a key, nor checked offline without that
// secret too. Compared in constant time, so how long a refusal takes says nothing of how
// much of a guess was right.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function hashSecret(hashingSecret: Buffer, secret: string): string {
  return hmac(hashingSecret, secret).toString('hex');
}

export function secretMatches(hashingSecret: Buffer, secret: string, storedHmac: string): boolean {
  const presented = hmac(hashingSecret, secret);
  const stored = Buffer.from(storedHmac, 'hex');
  // Both are SHA-256 digests; a stored value of another length is a corrupt row, not a match.
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}

function hmac(hashingSecret: Buffer, secret: string): Buffer {
  return createHmac('sha256', hashingSecret).update(secret).digest();
}
