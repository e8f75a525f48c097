// The MCP endpoints as OAuth resource servers, against a real OpenID provider (oidc-provider
// on loopback, issuing resource-bound JWT access tokens) and the official MCP SDK client's own
// OAuth support: a 401 names the metadata, the metadata names the issuer, the SDK's
// client_credentials provider gets a token for the resource and the tool call succeeds; and
// every bad token — for another resource, expired, of another issuer, tampered, unsigned, of a
// key the issuer no longer publishes — is refused with the right status and challenge.
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SignJWT, decodeJwt } from 'jose';
import { startController, type RunningController } from '../../../controller/start.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import {
  startIdentityProvider,
  type TestClient,
  type TestIdentityProvider,
} from '../../fixtures/oidc-provider.ts';
import { freePort } from '../support/free-port.ts';
import { initializeBody } from '../support/mcp-messages.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const CI: TestClient = { id: 'ci-bot', secret: 'ci-secret', groups: ['platform-admins'] };
const OTHER: TestClient = { id: 'other-bot', secret: 'other-secret', groups: ['developers'] };

interface Reply {
  status: number;
  challenge: string | null;
  body: Record<string, unknown>;
}

async function post(
  url: string,
  token?: string,
  more: { headers?: Record<string, string>; body?: string; method?: string } = {},
): Promise<Reply & { session: string | null }> {
  const response = await fetch(url, {
    method: more.method ?? 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
      ...more.headers,
    },
    ...(more.method === 'DELETE' ? {} : { body: more.body ?? initializeBody() }),
  });
  const body = parseReply(await response.text());
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate'),
    body,
    session: response.headers.get('mcp-session-id'),
  };
}

/** A JSON reply, or the one event of an SSE reply. */
function parseReply(text: string): Record<string, unknown> {
  const json =
    text.startsWith('event:') || text.startsWith('data:') ? text.slice(text.indexOf('{')) : text;
  try {
    return JSON.parse(json) as Record<string, unknown>;
  } catch {
    return { text };
  }
}

describe('OAuth access tokens at the gateway (a real OpenID provider)', function () {
  this.timeout(60_000);
  let registry: string;
  let idp: TestIdentityProvider;
  let controller: RunningController;
  let endpoint: string;
  let metadataUrl: string;

  before(async function () {
    registry = await mkdtemp(path.join(tmpdir(), 'mcpfleet-oauth-'));
    for (const slug of ['everything', 'everything-http'])
      await cp(path.join(ROOT, 'registry/servers', slug), path.join(registry, slug), {
        recursive: true,
      });
    idp = await startIdentityProvider([CI, OTHER]);
    controller = await startController({
      registryDir: registry,
      port: await freePort(),
      dataDir: 'memory://',
      logger: silentLogger(),
      auth: {
        issuers: [idp.issuer],
        requiredScopes: ['mcp'],
        roleMap: { admin: ['platform-admins'] },
        // Exact expiry and no wait for a rotated key: the test decides when time has passed.
        clockToleranceSeconds: 0,
        jwksCooldownMs: 0,
      },
    });
    endpoint = `${controller.url}/servers/everything/mcp`;
    metadataUrl = `${controller.url}/.well-known/oauth-protected-resource/servers/everything/mcp`;
  });
  after(async function () {
    await controller?.close();
    await idp?.close();
    await rm(registry, { recursive: true, force: true });
  });

  it('publishes protected resource metadata for each endpoint and for the gateway (RFC 9728)', async function () {
    const doc = (await (await fetch(metadataUrl)).json()) as Record<string, unknown>;
    assert.deepEqual(doc, {
      resource: endpoint,
      authorization_servers: [idp.issuer],
      scopes_supported: ['mcp'],
      bearer_methods_supported: ['header'],
      resource_name: 'mcpfleet: everything',
    });
    const gateway = (await (
      await fetch(`${controller.url}/.well-known/oauth-protected-resource`)
    ).json()) as Record<string, unknown>;
    assert.equal(gateway.resource, controller.url);
    assert.equal(
      (await fetch(`${controller.url}/.well-known/oauth-protected-resource/servers/nope/mcp`))
        .status,
      404,
    );
  });

  it('answers a request without a token with 401 and a challenge naming the metadata and scope', async function () {
    const reply = await post(endpoint);
    assert.equal(reply.status, 401);
    assert.equal(reply.challenge, `Bearer resource_metadata="${metadataUrl}", scope="mcp"`);
    assert.equal((reply.body.error as { code: number }).code, -32000, 'a JSON-RPC error body');
    const api = await fetch(`${controller.url}/api/v1/servers`);
    assert.equal(api.status, 401);
    assert.match(
      api.headers.get('www-authenticate') ?? '',
      /resource_metadata="[^"]+\/\.well-known\/oauth-protected-resource"/,
    );
    assert.equal(((await api.json()) as { error: { code: string } }).error.code, 'unauthorized');
  });

  it('refuses a token in the query string (400 invalid_request)', async function () {
    const token = await idp.token(CI, endpoint, 'mcp');
    const reply = await post(`${endpoint}?access_token=${token}`);
    assert.equal(reply.status, 400);
    assert.match(reply.challenge ?? '', /error="invalid_request"/);
  });

  it("runs the MCP SDK's own OAuth flow: 401 → metadata → issuer → client_credentials token → tools/call", async function () {
    const fetches = idp.jwksFetches;
    const provider = new ClientCredentialsProvider({
      clientId: CI.id,
      clientSecret: CI.secret!,
      expectedIssuer: idp.issuer,
      // The SDK's client_credentials request asks for the client's configured scope (not
      // the challenge's, which its interactive flow uses).
      scope: 'mcp',
    });
    const client = new Client({ name: 'oauth-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(endpoint), {
      authProvider: provider,
    });
    await client.connect(transport);
    try {
      const result = await client.callTool({
        name: 'echo',
        arguments: { message: 'with a token' },
      });
      assert.deepEqual(result.content, [{ type: 'text', text: 'Echo: with a token' }]);
    } finally {
      await client.close();
    }
    const token = provider.tokens()!.access_token;
    const claims = decodeJwt(token);
    assert.equal(
      claims.aud,
      endpoint,
      'the SDK asked for this resource (RFC 8707) and got a token for it',
    );
    assert.equal(claims.iss, idp.issuer);
    assert.ok(idp.jwksFetches - fetches <= 1, 'the keys were read once at most, not per request');
  });

  it('accepts a token for the gateway as a whole on any endpoint and on the API', async function () {
    const token = await idp.token(CI, controller.url, 'mcp');
    assert.equal((await post(endpoint, token)).status, 200);
    const api = await fetch(`${controller.url}/api/v1/servers`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(api.status, 200, 'platform-admins maps to admin (--role-map)');
    await api.body?.cancel();
    const unmapped = await idp.token(OTHER, controller.url, 'mcp');
    const refused = await fetch(`${controller.url}/api/v1/servers`, {
      headers: { authorization: `Bearer ${unmapped}` },
    });
    assert.equal(refused.status, 403, 'a token whose groups map to no role reads nothing');
    await refused.body?.cancel();
  });

  it('binds a session to the principal that opened it and to its server (else 404)', async function () {
    const mine = await idp.token(CI, controller.url, 'mcp');
    const theirs = await idp.token(OTHER, controller.url, 'mcp');
    const opened = await post(endpoint, mine);
    assert.equal(opened.status, 200);
    const session = { 'mcp-session-id': opened.session!, 'mcp-protocol-version': '2025-06-18' };
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' });

    const stolen = await post(endpoint, theirs, { headers: session, body: ping });
    assert.equal(stolen.status, 404, 'another principal does not reach the session');
    assert.equal((stolen.body.error as { code: number }).code, -32001);
    const ended = await post(endpoint, theirs, { headers: session, method: 'DELETE' });
    assert.equal(ended.status, 404, 'nor may it end it');
    const elsewhere = await post(`${controller.url}/servers/everything-http/mcp`, mine, {
      headers: session,
      body: ping,
    });
    assert.equal(elsewhere.status, 404, 'the session id means nothing on another server');

    const own = await post(endpoint, mine, { headers: session, body: ping });
    assert.equal(own.status, 200, 'its owner still uses it');
    assert.deepEqual(own.body.result, {});
  });

  it('refuses a token for another server or another service (401 invalid_token)', async function () {
    for (const resource of [`${controller.url}/servers/other/mcp`, 'https://api.example.com']) {
      const reply = await post(endpoint, await idp.token(CI, resource, 'mcp'));
      assert.equal(reply.status, 401, resource);
      assert.match(
        reply.challenge ?? '',
        /error="invalid_token", error_description="the token is not for /,
      );
      assert.match(reply.challenge ?? '', new RegExp(`resource_metadata="${metadataUrl}"`));
    }
  });

  it('refuses a token without the required scope with 403 insufficient_scope', async function () {
    const reply = await post(endpoint, await idp.token(CI, endpoint));
    assert.equal(reply.status, 403);
    assert.match(reply.challenge ?? '', /scope="mcp", error="insufficient_scope"/);
  });

  /** A token signed with the provider's own key, saying what the provider would not. */
  async function forged(claims: Record<string, unknown>): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ scope: 'mcp', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: idp.key.kid })
      .setIssuer((claims.iss as string) ?? idp.issuer)
      .setSubject('someone')
      .setAudience(endpoint)
      .setIssuedAt(now - 60)
      .setExpirationTime((claims.exp as number) ?? now + 300)
      .sign(idp.key.privateKey);
  }

  it('refuses an expired token, a tampered one, an unsigned one and one of an issuer not trusted', async function () {
    const valid = await forged({});
    assert.equal((await post(endpoint, valid)).status, 200, 'signed right, it is accepted');

    const expired = await post(endpoint, await forged({ exp: Math.floor(Date.now() / 1000) - 5 }));
    assert.equal(expired.status, 401);
    assert.match(
      expired.challenge ?? '',
      /error="invalid_token", error_description="the token has expired"/,
    );

    const [header, payload, signature] = (await forged({ sub: 'x' })).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url')}.${signature}`;
    const refusedTampered = await post(endpoint, tampered);
    assert.equal(refusedTampered.status, 401);
    assert.match(refusedTampered.challenge ?? '', /signature does not verify/);

    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    const refusedNone = await post(endpoint, none);
    assert.equal(refusedNone.status, 401);
    assert.match(refusedNone.challenge ?? '', /an algorithm not accepted here/);

    const early = await post(endpoint, await forged({ nbf: Math.floor(Date.now() / 1000) + 600 }));
    assert.equal(early.status, 401);
    assert.match(early.challenge ?? '', /the token is not valid yet/);

    // A shared-secret signature (HS256) proves nothing about the issuer: refused outright.
    const hs = await new SignJWT({ scope: 'mcp' })
      .setProtectedHeader({ alg: 'HS256', kid: idp.key.kid })
      .setIssuer(idp.issuer)
      .setSubject('someone')
      .setAudience(endpoint)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('a shared secret of thirty-two bytes!'));
    const refusedHs = await post(endpoint, hs);
    assert.equal(refusedHs.status, 401);
    assert.match(refusedHs.challenge ?? '', /an algorithm not accepted here/);

    const other = await startIdentityProvider([CI]);
    try {
      const foreign = await post(endpoint, await other.token(CI, endpoint, 'mcp'));
      assert.equal(foreign.status, 401);
      assert.match(foreign.challenge ?? '', /issuer .* is not trusted here/);
    } finally {
      await other.close();
    }
  });

  it("follows the provider's key rotation: the new key is accepted, the old one is gone", async function () {
    const before = await idp.token(CI, endpoint, 'mcp');
    const unusedOld = await idp.token(CI, endpoint, 'mcp');
    assert.equal((await post(endpoint, before)).status, 200);
    await idp.rotate();
    const after = await idp.token(CI, endpoint, 'mcp');
    assert.equal((await post(endpoint, after)).status, 200, 'a token of the new key');
    const old = await post(endpoint, unusedOld);
    assert.equal(old.status, 401, 'a token of a key the issuer no longer publishes');
    assert.match(old.challenge ?? '', /a key its issuer does not publish/);
  });
});
