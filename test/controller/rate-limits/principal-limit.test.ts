// The per-caller rate limit on a real controller whose callers hold real access tokens (a real
// OpenID provider on loopback), driven by the official MCP SDK client and plain fetch: a burst
// from one principal beyond its budget is answered — every request, none left hanging — with
// 429, a whole-second Retry-After and a JSON-RPC error (the API: its own error shape); another
// principal at the same address is unaffected; a flood the access gate refuses (no token)
// spends no one's budget; the refusals are counted in /metrics.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { silentLogger } from '../../../controller/observability/log.ts';
import { startController, type RunningController } from '../../../controller/start.ts';
import {
  startIdentityProvider,
  type TestClient,
  type TestIdentityProvider,
} from '../../fixtures/oidc-provider.ts';
import { stdioFixture } from '../fleet/specs.ts';
import { initializeBody } from '../support/mcp-messages.ts';
import { allAnswered, connectedClient, metricValue, rawPost } from './rate-limit-clients.ts';

const ALICE: TestClient = { id: 'alice-bot', secret: 'alice-secret', groups: ['developers'] };
const BOB: TestClient = { id: 'bob-bot', secret: 'bob-secret', groups: ['developers'] };
const CAROL: TestClient = { id: 'carol-bot', secret: 'carol-secret', groups: ['developers'] };
/** Per caller; the window is long enough that no test run sees it roll over. */
const LIMIT = 10;

describe('rate limit per principal (real tokens, real clients)', function () {
  this.timeout(60_000);
  let idp: TestIdentityProvider;
  let controller: RunningController;
  let endpoint: string;
  const tokens: Record<string, string> = {};
  const clients: Client[] = [];

  before(async function () {
    idp = await startIdentityProvider([ALICE, BOB, CAROL]);
    controller = await startController({
      specs: [stdioFixture('fix', 'normal')],
      port: 0,
      dataDir: 'memory://',
      logger: silentLogger(),
      auth: { issuers: [idp.issuer], roleMap: { viewer: ['developers'] } },
      rateLimits: {
        perPrincipal: { points: LIMIT, windowSeconds: 60, burst: 0 },
        perServer: null,
      },
    });
    endpoint = `${controller.url}/servers/fix/mcp`;
    for (const who of [ALICE, BOB, CAROL]) tokens[who.id] = await idp.token(who, endpoint, 'mcp');
    tokens.aliceApi = await idp.token(ALICE, controller.url, 'mcp');
  });
  after(async function () {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await controller?.close();
    await idp?.close();
  });

  async function client(token: string): Promise<Client> {
    const c = await connectedClient(endpoint, token);
    clients.push(c);
    return c;
  }

  it('answers a burst beyond the budget with 429s, never a hang; another principal goes on', async function () {
    const alice = await client(tokens['alice-bot']!);
    const burst = await allAnswered(
      Array.from({ length: 50 }, () => alice.listTools()),
      20_000,
    );
    const refused = burst.filter(
      (r) => r.status === 'rejected' && (r.reason as { code?: number }).code === 429,
    );
    const other = burst.filter(
      (r) => r.status === 'rejected' && (r.reason as { code?: number }).code !== 429,
    );
    assert.deepEqual(other, [], 'every refusal is a 429');
    // Connecting spent some of the 10 (initialize, initialized, the GET stream): at most 10 of
    // the 50 pass.
    assert.ok(refused.length >= 40, `${refused.length} of 50 refused`);

    const reply = await rawPost(endpoint, tokens['alice-bot'], initializeBody(7));
    assert.equal(reply.status, 429);
    const retryAfter = reply.headers.get('retry-after');
    assert.match(retryAfter ?? '', /^\d+$/);
    assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `Retry-After ${retryAfter}`);
    assert.equal(reply.body.jsonrpc, '2.0');
    assert.equal(reply.body.id, null);
    const error = reply.body.error as { code: number; message: string; data: object };
    assert.equal(error.code, -32000);
    assert.match(error.message, /^Rate limited: this caller is over 10\/60s; retry in \d+ s$/);
    assert.deepEqual(error.data, {
      reason: 'rate-limited',
      scope: 'principal',
      limit: '10/60s',
      retryAfterSeconds: Number(retryAfter),
    });

    // Bob calls from the same address, the same server: his budget is his own.
    const bob = await client(tokens['bob-bot']!);
    const tools = await bob.listTools();
    assert.ok(tools.tools.some((t) => t.name === 'echo'));
    const echoed = await bob.callTool({ name: 'echo', arguments: { text: 'hi' } });
    assert.equal(echoed.isError ?? false, false);

    const counted = await metricValue(controller, 'mcpfleet_rate_limited_total', {
      scope: 'principal',
      surface: 'mcp',
      server: 'fix',
    });
    assert.ok(counted >= 41, `mcpfleet_rate_limited_total ${counted}`);
  });

  it('the management API shares the caller budget and answers 429 in its own error shape', async function () {
    // Alice's budget ran out above; her gateway-wide token is the same principal.
    const reply = await fetch(`${controller.url}/api/v1/servers`, {
      headers: { authorization: `Bearer ${tokens.aliceApi}` },
    });
    assert.equal(reply.status, 429);
    assert.match(reply.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    const body = (await reply.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'rate-limited');
    assert.match(body.error.message, /this caller is over 10\/60s/);
  });

  it('a flood the gate refuses (no token) spends no budget: a real caller at the same address goes on', async function () {
    const flood = await allAnswered(
      Array.from({ length: 60 }, () => rawPost(endpoint, undefined, initializeBody())),
      20_000,
    );
    const statuses = flood.map((r) => (r.status === 'fulfilled' ? r.value.status : 0));
    assert.deepEqual([...new Set(statuses)], [401]);
    // Carol has all of her budget: initialize, initialized, the GET stream, and 5 calls.
    const carol = await client(tokens['carol-bot']!);
    for (let i = 0; i < 5; i++) await carol.listTools();
  });
});
