// The rate limit settings as an operator writes them: `mcpfleet serve --rate-limit 50/s` (or
// MCPFLEET_RATE_LIMIT), the burst twice the rate unless given, 0 for off, a clear one-line error
// for a rate that is not one; the defaults beyond loopback and nothing on loopback.
import assert from 'node:assert/strict';
import { CommanderError } from 'commander';
import { buildProgram } from '../../../controller/cli/main.ts';
import {
  rateLimitSettingsOf,
  type RateLimitFlags,
} from '../../../controller/cli/commands/serve-rate-limit-flags.ts';
import {
  DEFAULT_PER_PRINCIPAL,
  DEFAULT_PER_SERVER,
  describeRate,
  parseRate,
  resolveRateLimits,
} from '../../../controller/rate-limits/rate-limit-settings.ts';
import { createLogger } from '../../../controller/observability/log.ts';
import { startController } from '../../../controller/start.ts';
import { stdioFixture } from '../fleet/specs.ts';
import { logRecorder } from '../support/log-recorder.ts';

/** The rate limit flags of `mcpfleet serve <args>` with exactly `env` as the environment. */
async function serveFlags(
  args: string[],
  env: Record<string, string> = {},
): Promise<RateLimitFlags> {
  const program = buildProgram();
  const serve = program.commands.find((c) => c.name() === 'serve')!;
  let errors = '';
  serve.configureOutput({ writeErr: (text) => (errors += text), writeOut: () => undefined });
  let flags: RateLimitFlags | undefined;
  serve.action((parsed: RateLimitFlags) => {
    flags = parsed;
  });
  const saved = process.env;
  process.env = { ...env };
  try {
    await program.parseAsync(['node', 'mcpfleet', 'serve', ...args]);
  } catch (err) {
    if (err instanceof CommanderError) throw new Error(errors.trim(), { cause: err });
    throw err;
  } finally {
    process.env = saved;
  }
  return flags!;
}

describe('rate limit settings', function () {
  it('reads a rate as requests per window', function () {
    assert.deepEqual(parseRate('50/s'), { points: 50, windowSeconds: 1 });
    assert.deepEqual(parseRate('600/min'), { points: 600, windowSeconds: 60 });
    assert.deepEqual(parseRate('10 / 30s'), { points: 10, windowSeconds: 30 });
    assert.deepEqual(parseRate('1000/h'), { points: 1000, windowSeconds: 3600 });
    assert.equal(parseRate('0'), 'off');
    assert.equal(parseRate('off'), 'off');
    assert.throws(
      () => parseRate('fast'),
      /"fast" is not a rate: use requests\/window, like 50\/s/,
    );
    assert.throws(() => parseRate('5/fortnight'), /"fortnight" is not a window/);
    assert.throws(() => parseRate('5/500ms'), /whole seconds, at least 1s/);
    assert.throws(() => parseRate('0/s'), /use requests\/window/);
  });

  it('defaults beyond loopback, nothing on loopback; what is given wins either way', function () {
    const open = resolveRateLimits({}, '0.0.0.0');
    assert.deepEqual(open.perPrincipal, DEFAULT_PER_PRINCIPAL);
    assert.deepEqual(open.perServer, DEFAULT_PER_SERVER);
    assert.equal(describeRate(DEFAULT_PER_PRINCIPAL), '50/s (+100 burst)');
    assert.equal(describeRate(DEFAULT_PER_SERVER), '500/s (+1000 burst)');
    const laptop = resolveRateLimits({}, '127.0.0.1');
    assert.equal(laptop.perPrincipal, null);
    assert.equal(laptop.perServer, null);
    const given = { points: 5, windowSeconds: 1, burst: 0 };
    assert.deepEqual(resolveRateLimits({ perPrincipal: given }, '127.0.0.1').perPrincipal, given);
    assert.equal(resolveRateLimits({ perServer: null }, '0.0.0.0').perServer, null);
  });

  it('mcpfleet serve flags and their environment variables', async function () {
    assert.deepEqual(rateLimitSettingsOf(await serveFlags([])), {});
    assert.deepEqual(rateLimitSettingsOf(await serveFlags(['--rate-limit', '20/s'])), {
      perPrincipal: { points: 20, windowSeconds: 1, burst: 40 },
    });
    assert.deepEqual(
      rateLimitSettingsOf(
        await serveFlags(['--server-rate-limit', '100/10s', '--server-rate-limit-burst', '0']),
      ),
      { perServer: { points: 100, windowSeconds: 10, burst: 0 } },
    );
    // A burst alone applies to the default rate.
    assert.deepEqual(rateLimitSettingsOf(await serveFlags(['--rate-limit-burst', '7'])), {
      perPrincipal: { ...DEFAULT_PER_PRINCIPAL, burst: 7 },
    });
    assert.deepEqual(
      rateLimitSettingsOf(
        await serveFlags([], { MCPFLEET_RATE_LIMIT: '0', MCPFLEET_SERVER_RATE_LIMIT: '600/min' }),
      ),
      { perPrincipal: null, perServer: { points: 600, windowSeconds: 60, burst: 1200 } },
    );
    await assert.rejects(
      serveFlags(['--rate-limit', 'lots']),
      /option '--rate-limit <rate>' argument 'lots' is invalid\. "lots" is not a rate/,
    );
  });

  it('a controller beyond loopback starts with the defaults and says so; on loopback, none', async function () {
    this.timeout(60_000);
    const started = async (host: string) => {
      const log = logRecorder();
      const controller = await startController({
        specs: [stdioFixture('fix', 'normal')],
        host,
        port: 0,
        dataDir: 'memory://',
        auth: { insecureNoAuth: true },
        logger: createLogger({ level: 'info', destination: log.stream }),
      });
      await controller.close();
      return log.records.filter((r) => r.msg === 'rate limits') as unknown as Record<
        string,
        unknown
      >[];
    };
    const beyond = await started('0.0.0.0');
    assert.equal(beyond.length, 1);
    assert.equal(beyond[0]!.perPrincipal, '50/s (+100 burst)');
    assert.equal(beyond[0]!.perServer, '500/s (+1000 burst)');
    assert.equal(beyond[0]!.shared, false);
    assert.deepEqual(await started('127.0.0.1'), []);
  });
});
