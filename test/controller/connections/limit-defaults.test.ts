// The connection limits' defaults follow the descriptor limit as /proc/self/limits states it
// (a child under `ulimit -n`), with a fallback where there is no /proc; impossible settings
// are refused with the reason.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  defaultMaxConnections,
  defaultProbeReserve,
  resolveConnectionLimits,
} from '../../../controller/connections/connection-limits.ts';
import {
  FALLBACK_DESCRIPTOR_LIMIT,
  descriptorLimit,
} from '../../../controller/connections/descriptor-limit.ts';

const LIMITS_MODULE = fileURLToPath(
  new URL('../../../controller/connections/connection-limits.ts', import.meta.url),
);

describe('connection limit defaults', function () {
  it('derives the cap from the descriptor limit the process really has', function () {
    const script = `import { defaultMaxConnections } from ${JSON.stringify(LIMITS_MODULE)};
console.log(defaultMaxConnections());`;
    const out = execFileSync(
      'bash',
      ['-c', 'ulimit -n 300 && exec "$0" --input-type=module -e "$1"', process.execPath, script],
      { encoding: 'utf8' },
    );
    assert.equal(Number(out.trim()), (300 - 128) / 2);
  });

  it('falls back to 1024 descriptors when /proc cannot say', function () {
    const unreadable = (): string => {
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    };
    assert.equal(descriptorLimit(unreadable), FALLBACK_DESCRIPTOR_LIMIT);
    assert.equal(
      descriptorLimit(() => 'Max open files  unlimited  unlimited  files\n'),
      Number.MAX_SAFE_INTEGER,
    );
    assert.equal(defaultMaxConnections(FALLBACK_DESCRIPTOR_LIMIT), 448);
    assert.equal(defaultMaxConnections(100), 16, 'never fewer than 16');
    assert.equal(defaultMaxConnections(1_048_576), 16_384, "a pod's nofile is not the cap");
    assert.equal(defaultProbeReserve(448), 28);
    assert.equal(defaultProbeReserve(100_000), 32);
  });

  it('refuses limits that cannot work, saying why', function () {
    assert.throws(
      () => resolveConnectionLimits({ maxConnections: 1 }),
      /max connections must be a whole number ≥ 2 \(got 1\)/,
    );
    assert.throws(
      () => resolveConnectionLimits({ maxConnections: 10, probeReserve: 10 }),
      /probe reserve must be a whole number from 0 to max connections - 1 \(9\); got 10/,
    );
    assert.throws(
      () => resolveConnectionLimits({ maxConnections: 10, headersTimeoutMs: 0 }),
      /the headers timeout must be more than 0 \(got 0 ms\)/,
    );
  });
});
