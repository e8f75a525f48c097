// The MCP conformance server suite through the gateway with auth on: the MCP endpoint is an
// OAuth resource server of a real OpenID provider (test/fixtures/oidc-provider.ts), and the
// suite must lose nothing against the backend run directly (conformance.test.ts does the
// same with auth off).
//
// What the suite offers for authorization (@modelcontextprotocol/conformance 0.2.0-alpha.12,
// `npx conformance list`):
// - Server scenarios (`conformance server`; `list --server`): 65, none about authorization:
//   no PRM discovery, 401 challenge or token audience scenario; they exercise the protocol
//   once connected.
// - Client scenarios: 33 `auth/*` ones (metadata-default…var3, scope-*, token-endpoint-auth-*,
//   resource-mismatch, iss-*, client-credentials-*, dpop…): they test an MCP *client*
//   against the suite's own mock resource and authorization servers, so there is nothing of
//   the gateway in them. What they check a client does against a server — 401 → PRM →
//   authorization server metadata → PKCE S256 + resource indicator → token → call — is what
//   test/controller/auth/oauth-authorization-code.test.ts and oauth-gateway.test.ts run with
//   the official SDK client against the gateway itself.
// - Authorization server scenarios (`conformance authorization`: metadata endpoint,
//   authorization-code grant) test the identity provider, not mcpfleet.
// - `conformance server --help` has no option to send a credential (only --url, --scenario,
//   --suite, --expected-failures, -o, --spec-version, --force, --requirements, --timeout,
//   --verbose), and the only environment variable the suite reads is GITHUB_TOKEN (for
//   tier-check). Pointed at the endpoint as it is, every scenario stops at the 401 (the first
//   test below shows it).
// So the whole server suite runs through a loopback forwarder that adds the bearer token —
// a client_credentials token the provider issued for this endpoint (RFC 8707 audience) —
// and passes everything else unchanged (bearer-forwarder.ts).
import assert from 'node:assert/strict';
import {
  startIdentityProvider,
  type TestClient,
  type TestIdentityProvider,
} from '../fixtures/oidc-provider.ts';
import { startBearerForwarder, type BearerForwarder } from './bearer-forwarder.ts';
import {
  CONFORMANCE_SLUG,
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

const SUITE: TestClient = { id: 'conformance-suite', secret: 'conformance-secret' };

describe('MCP conformance suite through the gateway with auth on', function () {
  this.timeout(180_000);
  let idp: TestIdentityProvider;
  let running: ConformanceController;
  let forwarder: BearerForwarder;
  let direct: SuiteRun;
  let authed: SuiteRun;

  before(async function () {
    // Tokens outlive the runs, so no request of the suite meets an expiry.
    idp = await startIdentityProvider([SUITE], { accessTokenTtlSeconds: 3600 });
    running = await startConformanceController({ issuers: [idp.issuer], requiredScopes: ['mcp'] });
    const token = await idp.token(SUITE, running.endpoint, 'mcp');
    forwarder = await startBearerForwarder(running.controller.url, token);
    // Sequential: both runs share one backend and the timings of a 2-core machine.
    direct = await runConformance(running.directUrl);
    authed = await runConformance(`${forwarder.url}/servers/${CONFORMANCE_SLUG}/mcp`);
  });
  after(async function () {
    await forwarder?.close();
    await running?.close();
    await idp?.close();
  });

  it('cannot pass a scenario without a token: the suite has no way to send one', async function () {
    const bare = await runConformance(running.endpoint, { scenario: 'server-initialize' });
    const result = bare.scenarios.get('server-initialize');
    assert.ok(result, 'the scenario ran');
    assert.equal(result.passed, false, 'the endpoint asks for a token');
    assert.match(
      JSON.stringify(result.checks),
      /Unauthorized: [^"]+ needs a bearer token/,
      'it stopped at the challenge',
    );
  });

  it('runs the same scenarios with a token as directly', function () {
    assert.deepEqual([...authed.scenarios.keys()].sort(), [...direct.scenarios.keys()].sort());
    assert.ok(direct.scenarios.size >= 20, `a real suite ran (${direct.scenarios.size} scenarios)`);
  });

  it('passes with auth on every scenario and check the backend passes directly', async function () {
    console.log(
      `      conformance with auth on: direct ${direct.checksPassed} checks passed / ${direct.checksFailed} failed, ` +
        `${passedScenarios(direct).length}/${direct.scenarios.size} scenarios; through the gateway with a token ` +
        `${authed.checksPassed} / ${authed.checksFailed}, ${passedScenarios(authed).length}/${authed.scenarios.size}`,
    );
    const lost = await confirmedLost(
      { run: direct, specVersion: undefined },
      { run: authed, specVersion: undefined },
      passedScenarios(direct),
    );
    assert.deepEqual(lost, [], 'scenarios passing directly but failing through the gateway');
    assert.ok(passedScenarios(direct).length >= 10, 'the backend passes a meaningful set');
    // Checks of the scenarios that passed with auth on (a scenario the backend answers
    // differently from run to run was judged twice by confirmedLost above).
    const lostWithAuth = lostChecks(
      direct,
      authed,
      (scenario) => !authed.scenarios.get(scenario)?.passed,
    );
    assert.deepEqual(lostWithAuth, [], 'checks passing directly but not with auth on');
  });
});
