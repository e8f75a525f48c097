// The MCP conformance server suite against server-everything (the registry's
// everything-http, as the controller's local fleet runs it): directly, and through the
// gateway, same run; plus the stdio flavour (`everything`) through gateway + stdio bridge.
// Prints JSON totals and per-scenario results.
//
//   node bench/conformance.ts
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../controller/observability/log.ts';
import { startController } from '../controller/start.ts';
import { passedScenarios, runConformance, type SuiteRun } from '../test/e2e/conformance-run.ts';

const SLUG = 'everything-http';
/** The same server over stdio, behind the built-in bridge: reported alongside. */
const STDIO_SLUG = 'everything';
const root = path.resolve(import.meta.dirname, '..');
const registry = await mkdtemp(path.join(tmpdir(), 'mcpfleet-conformance-'));
for (const slug of [SLUG, STDIO_SLUG]) {
  await cp(path.join(root, 'registry/servers', slug), path.join(registry, slug), {
    recursive: true,
  });
}
const controller = await startController({
  registryDir: registry,
  port: 0,
  dataDir: 'memory://',
  logger: silentLogger(),
});
try {
  const lease = await controller.fleet.acquire(SLUG, { kind: 'request' });
  lease.release();
  const direct = await runConformance(lease.upstream.url);
  const gateway = await runConformance(`${controller.url}/servers/${SLUG}/mcp`);
  const stdio = await runConformance(`${controller.url}/servers/${STDIO_SLUG}/mcp`);
  const totals = (run: SuiteRun) => ({
    scenariosPassed: passedScenarios(run).length,
    scenarios: run.scenarios.size,
    checksPassed: run.checksPassed,
    checksFailed: run.checksFailed,
  });
  const scenarios = Object.fromEntries(
    [...direct.scenarios.keys()].sort().map((name) => [
      name,
      {
        direct: direct.scenarios.get(name)?.passed ? 'pass' : 'fail',
        gateway: gateway.scenarios.get(name)?.passed ? 'pass' : 'fail',
        gatewayStdioBridge: stdio.scenarios.get(name)?.passed ? 'pass' : 'fail',
      },
    ]),
  );
  const lost = passedScenarios(direct).filter((s) => !gateway.scenarios.get(s)?.passed);
  console.log(
    JSON.stringify(
      {
        bench: 'conformance',
        backend: `registry ${SLUG} (server-everything streamableHttp) on the local fleet`,
        direct: totals(direct),
        gateway: totals(gateway),
        gatewayStdioBridge: totals(stdio),
        lostThroughGateway: lost,
        scenarios,
      },
      null,
      2,
    ),
  );
} finally {
  await controller.close();
  await rm(registry, { recursive: true, force: true });
}
