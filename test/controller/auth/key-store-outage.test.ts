// An API key that cannot be checked because PostgreSQL is gone (its port closed) or hung (it
// never answers; the store timeout ends the wait) is a 503 with Retry-After — the caller may
// retry, its key is not wrong (not a 401) and nothing is broken in the controller (not a
// 500) — as a JSON-RPC error on the MCP endpoints and the API's JSON error on /api/v1. A key
// checked before the outage keeps working from the authenticator's cache meanwhile.
import assert from 'node:assert/strict';
import { request } from 'undici';
import { openApiKeys } from '../../../controller/auth/keys/open-api-keys.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { openStore } from '../../../controller/store/open-store.ts';
import { stdioFixture } from '../fleet/specs.ts';
import {
  startControllerBehindProxy,
  type ControllerBehindProxy,
} from '../store/controller-behind-proxy.ts';
import { initializeBody, parseReply } from '../support/mcp-messages.ts';

const STORE_TIMEOUT_MS = 1_000;
const SECRET = 'a key-hashing secret of at least 32 characters';

interface Reply {
  status: number;
  retryAfter: string | undefined;
  challenge: string | undefined;
  body: Record<string, unknown>;
}

async function call(url: string, key: string, mcp: boolean): Promise<Reply> {
  const reply = await request(url, {
    method: mcp ? 'POST' : 'GET',
    headers: {
      authorization: `Bearer ${key}`,
      ...(mcp
        ? { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
        : {}),
    },
    ...(mcp ? { body: initializeBody() } : {}),
  });
  const body = parseReply(await reply.body.text());
  const header = (name: string): string | undefined => {
    const value = reply.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  return {
    status: reply.statusCode,
    retryAfter: header('retry-after'),
    challenge: header('www-authenticate'),
    body,
  };
}

describe('API keys while PostgreSQL is unreachable', function () {
  this.timeout(60_000);
  const schema = `mcpfleet_keys_outage_${process.pid}`;
  let running: ControllerBehindProxy | undefined;
  /** Checked once before the outage (so cached), and never before it. */
  let seen: string;
  let unseen: string;

  beforeEach(async function () {
    running = await startControllerBehindProxy(schema, {
      specs: [stdioFixture('outage-echo', 'normal')],
      port: 0,
      storeTimeoutMs: STORE_TIMEOUT_MS,
      keyHashingSecret: SECRET,
      logger: silentLogger(),
    });
    // The keys are written straight into the controller's schema, as `mcpfleet keys create
    // --database-url` does, past the proxy that is about to fail.
    const store = await openStore({ databaseUrl: running.directUrl });
    try {
      const keys = await openApiKeys({
        store,
        host: '127.0.0.1',
        dataDir: 'memory://',
        keyHashingSecret: SECRET,
        logger: silentLogger(),
      });
      const create = async (name: string): Promise<string> =>
        (await keys.create({ name, role: 'admin', servers: null, expiresAt: null })).key;
      seen = await create('seen');
      unseen = await create('unseen');
    } finally {
      await store.close();
    }
    const before = await call(`${running.controller.url}/api/v1/servers`, seen, false);
    assert.equal(before.status, 200, 'the key works while the store answers');
  });
  afterEach(async function () {
    await running?.close();
    running = undefined;
  });

  for (const outage of ['refused', 'hung'] as const) {
    it(`answers a key it cannot check 503 with Retry-After, on MCP and the API (store ${outage})`, async function () {
      if (outage === 'refused') await running!.proxy.refuse();
      else running!.proxy.freeze();
      const mcpUrl = `${running!.controller.url}/servers/outage-echo/mcp`;

      const mcp = await call(mcpUrl, unseen, true);
      assert.equal(mcp.status, 503, JSON.stringify(mcp.body));
      assert.equal(mcp.retryAfter, '5');
      assert.equal(mcp.challenge, undefined, 'not a challenge: the key is not said to be bad');
      const error = mcp.body.error as { code: number; message: string; data: { reason: string } };
      assert.equal(mcp.body.jsonrpc, '2.0');
      assert.equal(error.code, -32000);
      assert.equal(error.data.reason, 'credential-check-unavailable');
      assert.match(error.message, /the API key store is unavailable; retry later/);
      assert.doesNotMatch(error.message, /127\.0\.0\.1|ECONN|timeout/i, 'no store detail leaks');

      const api = await call(`${running!.controller.url}/api/v1/servers`, unseen, false);
      assert.equal(api.status, 503, JSON.stringify(api.body));
      assert.equal(api.retryAfter, '5');
      assert.deepEqual(api.body, {
        error: {
          code: 'credential-check-unavailable',
          message:
            'the credential cannot be checked now: the API key store is unavailable; retry later',
        },
      });

      const cached = await call(mcpUrl, seen, true);
      assert.equal(cached.status, 200, 'a key checked before the outage still comes in');
    });
  }
});
