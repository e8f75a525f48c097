// The MCP endpoints as OAuth resource servers, against a real OpenID provider (oidc-provider
// on loopback, issuing resource-bound JWT access tokens) and the official MCP SDK client's own
// OAuth support: a 401 names the metadata, the metadata names the issuer, the SDK's
// client_credentials provider gets a token for the resource and the tool call succeeds; and
// every bad token — for another resource, expired, of another issuer, tampered, unsigned, of a
// key the issuer no longer publishes — is refused with the right status and challenge.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import type { RunningController } from '../../../controller/start.ts';
import {
  startIdentityProvider,
  type TestClient,
  type TestIdentityProvider,
} from '../../fixtures/oidc-provider.ts';
import { startOAuthController, type OAuthController } from './oauth-controller.ts';
import { initializeBody, parseReply } from '../support/mcp-messages.ts';

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

/**
 * A refusal as the spec wants it: the status, the whole challenge (the endpoint's metadata,
 * the scope it needs, the RFC 6750 error and why) and a JSON-RPC error body.
 */
function assertRefused(
  reply: Reply,
  expected: { status: 401 | 403; metadataUrl: string; error: string; why: RegExp },
): void {
  assert.equal(reply.status, expected.status, JSON.stringify(reply.body));
  const prefix = `Bearer resource_metadata="${expected.metadataUrl}", scope="mcp", error="${expected.error}", error_description="`;
  assert.ok(reply.challenge?.startsWith(prefix), `${reply.challenge} starts with ${prefix}`);
  assert.match(reply.challenge!.slice(prefix.length), expected.why);
  assert.equal((reply.body.error as { code: number }).code, -32000, 'a JSON-RPC error body');
}

describe('OAuth access tokens at the gateway (a real OpenID provider)', function () {
  this.timeout(60_000);
  let running: OAuthController;
  let idp: TestIdentityProvider;
  let controller: RunningController;
  let endpoint: string;
  let metadataUrl: string;

  before(async function () {
    running = await startOAuthController([CI, OTHER], {
      // Exact expiry and no wait for a rotated key: the test decides when time has passed.
      auth: { clockToleranceSeconds: 0, jwksCooldownMs: 0 },
    });
    ({ idp, controller } = running);
    endpoint = `${controller.url}/servers/everything/mcp`;
    metadataUrl = `${controller.url}/.well-known/oauth-protected-resource/servers/everything/mcp`;
  });
  after(async function () {
    await running?.close();
  });

  const invalidToken = (reply: Reply, why: RegExp): void =>
    assertRefused(reply, { status: 401, metadataUrl, error: 'invalid_token', why });

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
      invalidToken(reply, new RegExp(`^the token is not for ${endpoint}"$`));
    }
  });

  it('refuses a token without the required scope with 403 insufficient_scope', async function () {
    const reply = await post(endpoint, await idp.token(CI, endpoint));
    assertRefused(reply, {
      status: 403,
      metadataUrl,
      error: 'insufficient_scope',
      why: /^the token lacks the scope mcp"$/,
    });
  });

  /** A token signed with the provider's own key, saying what the provider would not. */
  async function forged(claims: Record<string, unknown>): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ scope: 'mcp', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: idp.key.kid })
      .setIssuer((claims.iss as string) ?? idp.issuer)
      .setSubject('someone')
      .setAudience((claims.aud as string) ?? endpoint)
      .setIssuedAt(now - 60)
      .setExpirationTime((claims.exp as number) ?? now + 300)
      .sign(idp.key.privateKey);
  }

  it('refuses an expired token, a tampered one, an unsigned one and one of an issuer not trusted', async function () {
    const valid = await forged({});
    assert.equal((await post(endpoint, valid)).status, 200, 'signed right, it is accepted');

    const expiredToken = await forged({ exp: Math.floor(Date.now() / 1000) - 5 });
    invalidToken(await post(endpoint, expiredToken), /^the token has expired"$/);
    const expiredForApi = await forged({
      aud: controller.url,
      exp: Math.floor(Date.now() / 1000) - 5,
    });
    const expiredOnApi = await fetch(`${controller.url}/api/v1/servers`, {
      headers: { authorization: `Bearer ${expiredForApi}` },
    });
    assert.equal(expiredOnApi.status, 401, 'the API refuses it too');
    assert.equal(
      expiredOnApi.headers.get('www-authenticate'),
      `Bearer resource_metadata="${controller.url}/.well-known/oauth-protected-resource", error="invalid_token", error_description="the token has expired"`,
    );
    await expiredOnApi.body?.cancel();

    const [header, payload, signature] = (await forged({ sub: 'x' })).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url')}.${signature}`;
    invalidToken(await post(endpoint, tampered), /^the token's signature does not verify"$/);

    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    invalidToken(
      await post(endpoint, none),
      /^the token is signed with an algorithm not accepted here"$/,
    );

    const early = await post(endpoint, await forged({ nbf: Math.floor(Date.now() / 1000) + 600 }));
    invalidToken(early, /^the token is not valid yet"$/);

    // A shared-secret signature (HS256) proves nothing about the issuer: refused outright.
    const hs = await new SignJWT({ scope: 'mcp' })
      .setProtectedHeader({ alg: 'HS256', kid: idp.key.kid })
      .setIssuer(idp.issuer)
      .setSubject('someone')
      .setAudience(endpoint)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('a shared secret of thirty-two bytes!'));
    invalidToken(
      await post(endpoint, hs),
      /^the token is signed with an algorithm not accepted here"$/,
    );

    const other = await startIdentityProvider([CI]);
    try {
      const foreign = await post(endpoint, await other.token(CI, endpoint, 'mcp'));
      invalidToken(
        foreign,
        new RegExp(`^the token's issuer \\\\"${other.issuer}\\\\" is not trusted here"$`),
      );
      // Another issuer's key, claiming to be the trusted issuer (its kid too): a key the
      // trusted issuer does not publish, or (same kid) a signature that does not verify.
      const now = Math.floor(Date.now() / 1000);
      for (const kid of ['someone-elses-key', idp.key.kid]) {
        const impostor = await new SignJWT({ scope: 'mcp' })
          .setProtectedHeader({ alg: 'RS256', kid })
          .setIssuer(idp.issuer)
          .setSubject('someone')
          .setAudience(endpoint)
          .setExpirationTime(now + 300)
          .sign(other.key.privateKey);
        invalidToken(
          await post(endpoint, impostor),
          kid === idp.key.kid
            ? /^the token's signature does not verify"$/
            : /^the token is signed with a key its issuer does not publish"$/,
        );
      }
    } finally {
      await other.close();
    }
  });

  it("follows the provider's key rotation without a restart: the new key is accepted, the old one is gone", async function () {
    const before = await idp.token(CI, endpoint, 'mcp');
    const unusedOld = await idp.token(CI, endpoint, 'mcp');
    assert.equal((await post(endpoint, before)).status, 200);
    const fetches = idp.jwksFetches;
    await idp.rotate();
    const after = await idp.token(CI, endpoint, 'mcp');
    assert.notEqual(decodeProtectedHeader(after).kid, decodeProtectedHeader(before).kid);
    assert.equal((await post(endpoint, after)).status, 200, 'a token of the new key');
    assert.equal(
      idp.jwksFetches - fetches,
      1,
      'its unknown kid made the gateway read the keys again',
    );
    assert.equal((await post(endpoint, after)).status, 200);
    assert.equal(idp.jwksFetches - fetches, 1, 'once: the new key is known now');
    invalidToken(
      await post(endpoint, unusedOld),
      /^the token is signed with a key its issuer does not publish"$/,
    );
    // A token verified before the rotation stays verified until it expires (the cache holds
    // verified tokens, not keys: jwt-authenticator.ts), as it would at any resource server
    // that checked it before the key was dropped.
    assert.equal((await post(endpoint, before)).status, 200, 'verified before: cached until exp');
  });
});
