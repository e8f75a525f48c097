// What an API key looks like: mcpf_<id>_<secret>. The id is public (it names the key in
// `keys list`, the audit log and the database's primary key); the secret is 32 random bytes,
// base64url, shown once and kept nowhere but with its holder.
import { randomBytes } from 'node:crypto';

export const KEY_PREFIX = 'mcpf_';
/** 8 random bytes as hex: no `_`, so the first `_` after the prefix ends the id. */
const ID_PATTERN = /^[0-9a-f]{16}$/;
/** 32 bytes in base64url, unpadded. */
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface KeyParts {
  id: string;
  secret: string;
}

export function newKey(): KeyParts & { key: string } {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, key: `${KEY_PREFIX}${id}_${secret}` };
}

export function looksLikeKey(credential: string): boolean {
  return credential.startsWith(KEY_PREFIX);
}

/** The id and secret of a well-formed key; undefined for anything else. */
export function parseKey(credential: string): KeyParts | undefined {
  if (!looksLikeKey(credential)) return undefined;
  const rest = credential.slice(KEY_PREFIX.length);
  const separator = rest.indexOf('_');
  if (separator === -1) return undefined;
  const id = rest.slice(0, separator);
  const secret = rest.slice(separator + 1);
  return ID_PATTERN.test(id) && SECRET_PATTERN.test(secret) ? { id, secret } : undefined;
}

/** A key id as the CLI and API take it (to revoke), or undefined. */
export function isKeyId(text: string): boolean {
  return ID_PATTERN.test(text);
}
