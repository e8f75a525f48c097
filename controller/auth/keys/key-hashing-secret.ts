// The secret API keys are hashed under (secret-hash.ts). Given (--key-hashing-secret,
// MCPFLEET_KEY_HASHING_SECRET; every controller replica sharing one database must have the
// same), it is used as is. On a loopback controller without one it is generated once and kept
// beside the embedded database with mode 0600, so `npm start` needs no setup and keys survive
// restarts. Anywhere else it must be given: a generated one would differ per replica and
// per pod restart, silently invalidating every key.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

export const KEY_HASHING_SECRET_ENV = 'MCPFLEET_KEY_HASHING_SECRET';
export const KEY_HASHING_SECRET_FILE = 'key-hashing-secret';
/** Shorter secrets make the HMAC guessable offline from a leaked table. */
const MIN_SECRET_LENGTH = 32;

export const MISSING_SECRET_MESSAGE =
  `API keys need a key-hashing secret on a controller that listens beyond loopback: set ` +
  `--key-hashing-secret or ${KEY_HASHING_SECRET_ENV} (at least ${MIN_SECRET_LENGTH} characters, ` +
  `e.g. from "openssl rand -base64 32"), the same on every replica`;

export interface KeyHashingSecretOptions {
  /** The configured secret, if any. */
  given?: string;
  /** Whether the controller listens on loopback only. */
  loopback: boolean;
  /** The embedded database's directory ("memory://" keeps a generated secret in memory). */
  dataDir: string;
}

/** The secret, or why there is none (keys are then refused, saying so). */
export async function resolveKeyHashingSecret(
  options: KeyHashingSecretOptions,
): Promise<{ secret: Buffer } | { unavailable: string }> {
  if (options.given !== undefined) {
    if (options.given.length < MIN_SECRET_LENGTH) {
      throw new Error(
        `the key-hashing secret is ${options.given.length} characters; use at least ` +
          `${MIN_SECRET_LENGTH} (e.g. "openssl rand -base64 32")`,
      );
    }
    return { secret: Buffer.from(options.given, 'utf8') };
  }
  if (!options.loopback) return { unavailable: MISSING_SECRET_MESSAGE };
  if (options.dataDir.startsWith('memory://')) return { secret: randomBytes(32) };
  return { secret: await generatedSecret(keyHashingSecretPath(options.dataDir)) };
}

/** Beside the embedded database: .mcpfleet/pgdata → .mcpfleet/key-hashing-secret. */
export function keyHashingSecretPath(dataDir: string): string {
  return join(dirname(resolve(dataDir)), KEY_HASHING_SECRET_FILE);
}

async function generatedSecret(path: string): Promise<Buffer> {
  try {
    return Buffer.from((await readFile(path, 'utf8')).trim(), 'base64url');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dirname(path), { recursive: true });
  const secret = randomBytes(32);
  try {
    // wx: two controllers starting at once never overwrite each other's secret.
    await writeFile(path, `${secret.toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return generatedSecret(path);
    throw err;
  }
  await chmod(path, 0o600); // the umask may have narrowed what mode asked, never widened it
  return secret;
}
