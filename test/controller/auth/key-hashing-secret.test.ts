// Where the key-hashing secret comes from: given, generated once beside the embedded database
// (0600, the same one after a restart), or, off loopback, nowhere: keys are then refused with
// a message saying what to set.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  keyHashingSecretPath,
  resolveKeyHashingSecret,
} from '../../../controller/auth/keys/key-hashing-secret.ts';

describe('key-hashing secret', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpfleet-keysecret-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('on loopback without one, generates it once beside the data directory, mode 0600', async () => {
    const dataDir = join(dir, '.mcpfleet', 'pgdata');
    const first = await resolveKeyHashingSecret({ loopback: true, dataDir });
    const second = await resolveKeyHashingSecret({ loopback: true, dataDir });
    assert.ok('secret' in first && 'secret' in second);
    assert.equal(first.secret.length, 32);
    assert.deepEqual(first.secret, second.secret);
    const path = keyHashingSecretPath(dataDir);
    assert.equal(path, join(dir, '.mcpfleet', 'key-hashing-secret'));
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await readFile(path, 'utf8')).trim(), first.secret.toString('base64url'));
  });

  it('uses the one given, and refuses one too short to resist guessing', async () => {
    const given = 'x'.repeat(40);
    const resolved = await resolveKeyHashingSecret({ given, loopback: false, dataDir: dir });
    assert.deepEqual(resolved, { secret: Buffer.from(given) });
    await assert.rejects(
      resolveKeyHashingSecret({ given: 'short', loopback: true, dataDir: dir }),
      /at least 32/,
    );
  });

  it('beyond loopback without one, there is none, and the reason names the setting', async () => {
    const resolved = await resolveKeyHashingSecret({ loopback: false, dataDir: dir });
    assert.ok('unavailable' in resolved);
    assert.match(resolved.unavailable, /--key-hashing-secret or MCPFLEET_KEY_HASHING_SECRET/);
  });
});
