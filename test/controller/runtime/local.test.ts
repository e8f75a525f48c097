import assert from 'node:assert/strict';
import { LocalRuntime } from '../../../controller/runtime/local.ts';
import { McpProbe } from '../../../controller/health/mcp-probe.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import type { RemoteSpec } from '../../../registry/catalog/spec.ts';
import { isAlive, waitFor } from '../support/processes.ts';
import { everythingHttp, everythingStdio, httpFixture } from '../fleet/specs.ts';

describe('local runtime', function () {
  this.timeout(20_000);
  const runtime = new LocalRuntime({ logger: silentLogger() });

  it('puts a stdio server behind a bridge on a loopback port', async () => {
    const replica = await runtime.start(everythingStdio());
    try {
      assert.match(replica.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      const result = await new McpProbe(replica.url).check(10_000);
      assert.ok(result.ok, result.error);
    } finally {
      await replica.stop();
    }
    assert.equal(replica.children(), 0);
  });

  it('keeps a warm spare next to each session, or none where the spec says warmSpare: false', async () => {
    for (const [warmSpare, expected] of [
      [true, 2],
      [false, 1],
    ] as const) {
      const replica = await runtime.start(everythingStdio('spare', { warmSpare }));
      try {
        // A session (initialize + ping) takes a process; the spare, if any, follows it.
        assert.ok((await new McpProbe(replica.url).check(10_000)).ok);
        await waitFor(() => replica.children() === expected, 10_000, `${expected} processes`);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(replica.children(), expected, `warmSpare: ${warmSpare}`);
      } finally {
        await replica.stop();
      }
    }
  });

  it('runs a streamable-http server with the port variable set to a port it allocated', async () => {
    const replica = await runtime.start(everythingHttp());
    const probe = new McpProbe(replica.url);
    await waitFor(async () => (await probe.check(2000)).ok, 10_000, 'the HTTP server to answer');
    assert.equal(replica.children(), 1);
    await replica.stop();
    const exit = await replica.exited;
    assert.equal(exit.expected, true);
    assert.match(exit.reason, /SIGTERM/);
  });

  it('reports a crash of an HTTP server through `exited`', async () => {
    const replica = await runtime.start(
      httpFixture('crashes', 'crash-after', { env: { FIXTURE_CRASH_MS: '100' } }),
    );
    const exit = await replica.exited;
    assert.equal(exit.expected, false);
    assert.match(exit.reason, /exited with code 1: fatal: http fixture crashing/);
  });

  it('runs no process for a remote, and resolves secret headers from the environment', async () => {
    const remote: RemoteSpec = {
      ...everythingStdio('remote'),
      kind: 'remote',
      upstream: {
        type: 'streamable-http',
        url: 'https://mcp.example.com/mcp',
        headers: { 'x-plain': 'a' },
        secretHeaders: [{ env: 'Authorization', secretName: 'remote', key: 'remote_token' }],
      },
      egress: [],
    } as RemoteSpec;
    assert.deepEqual(new LocalRuntime({ logger: silentLogger(), environment: {} }).check(remote), {
      ok: false,
      reason: 'needs the secret environment variable(s) REMOTE_TOKEN',
    });
    const withSecret = new LocalRuntime({
      logger: silentLogger(),
      environment: { REMOTE_TOKEN: 'Bearer t' },
    });
    const replica = await withSecret.start(remote);
    assert.equal(replica.url, 'https://mcp.example.com/mcp');
    assert.deepEqual(replica.headers, { 'x-plain': 'a', Authorization: 'Bearer t' });
    assert.equal(replica.children(), 0);
    await replica.stop();
  });

  it('kills the HTTP server process on stop', async () => {
    const { liveChildPids } = await import('../../../controller/bridge/process-group.ts');
    const before = new Set(liveChildPids());
    const replica = await runtime.start(httpFixture('stopme', 'normal'));
    const pid = liveChildPids().find((p) => !before.has(p))!;
    assert.ok(isAlive(pid));
    await replica.stop();
    assert.equal(isAlive(pid), false);
  });
});
