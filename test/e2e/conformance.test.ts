// The MCP conformance server suite, run against server-everything (HTTP mode) directly and
// through the gateway in the same test: the gateway must pass every scenario the backend passes
// directly, and DNS-rebinding protection fully (which the bare backend does not).
import assert from 'node:assert/strict';
import {
  startConformanceController,
  type ConformanceController,
} from './conformance-controller.ts';
import {
  confirmedLost,
  lostChecks,
  passedScenarios,
  runConformance,
  type SuiteRun,
} from './conformance-run.ts';

describe('MCP conformance suite: direct vs through the gateway', function () {
  this.timeout(120_000);
  let running: ConformanceController;
  let direct: SuiteRun;
  let proxied: SuiteRun;

  before(async function () {
    // The real controller (registry → local fleet → gateway) serving the registry's
    // everything-http; "direct" is the very backend process the fleet started.
    running = await startConformanceController();
    // Sequential: both runs share one backend and the timings of a 2-core machine.
    direct = await runConformance(running.directUrl);
    proxied = await runConformance(running.endpoint);
  });
  after(async function () {
    await running?.close();
  });

  it('runs the same scenarios both ways', function () {
    assert.deepEqual([...proxied.scenarios.keys()].sort(), [...direct.scenarios.keys()].sort());
    assert.ok(direct.scenarios.size >= 20, `a real suite ran (${direct.scenarios.size} scenarios)`);
  });

  it('passes through the gateway every scenario the backend passes directly', async function () {
    const lost = await confirmedLost(
      { run: direct, specVersion: undefined },
      { run: proxied, specVersion: undefined },
      passedScenarios(direct),
    );
    assert.deepEqual(lost, [], 'scenarios passing directly but failing through the gateway');
    assert.ok(passedScenarios(direct).length >= 10, 'the backend passes a meaningful set');
  });

  it('passes dns-rebinding-protection fully through the gateway', function () {
    const dns = proxied.scenarios.get('dns-rebinding-protection');
    assert.ok(dns, 'scenario ran');
    assert.deepEqual(
      dns.checks.map((c) => [c.id, c.status]),
      [
        ['localhost-host-rebinding-rejected', 'SUCCESS'],
        ['localhost-host-valid-accepted', 'SUCCESS'],
      ],
    );
  });

  it('loses no individual check either', function () {
    console.log(
      `      conformance checks: direct ${direct.checksPassed} passed / ${direct.checksFailed} failed; ` +
        `gateway ${proxied.checksPassed} passed / ${proxied.checksFailed} failed; ` +
        `scenarios passed: direct ${passedScenarios(direct).length}/${direct.scenarios.size}, ` +
        `gateway ${passedScenarios(proxied).length}/${proxied.scenarios.size}`,
    );
    const lost = lostChecks(direct, proxied);
    assert.deepEqual(lost, []);
    assert.ok(
      proxied.checksPassed >= direct.checksPassed + 1,
      'at least the rebinding check gained',
    );
  });
});
