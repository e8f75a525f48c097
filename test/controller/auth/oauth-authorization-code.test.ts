// The MCP SDK client's interactive OAuth flow against the gateway, end to end: its first
// request gets 401, it reads the protected resource metadata, then the issuer's metadata, and
// sends the person to the authorization endpoint (PKCE, with the endpoint as the resource
// indicator); the test plays the browser (the provider's login and consent answered at once),
// hands the code back (finishAuth), and the SDK exchanges it for a token whose audience is the
// endpoint — and the tool call goes through.
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  UnauthorizedError,
  type OAuthClientProvider,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { decodeJwt } from 'jose';
import { startController, type RunningController } from '../../../controller/start.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { startIdentityProvider, type TestIdentityProvider } from '../../fixtures/oidc-provider.ts';
import { freePort } from '../support/free-port.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const REDIRECT = 'http://127.0.0.1:9/callback'; // never fetched: the test reads the redirect
const APP = { id: 'desktop-app', redirectUris: [REDIRECT] };

/** A browser without a person: follows the redirects (keeping cookies) to the redirect URI. */
async function authorizeInBrowser(start: URL): Promise<string> {
  const cookies = new Map<string, string>();
  let url = start.href;
  for (let hop = 0; hop < 10; hop++) {
    const response = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    await response.body?.cancel();
    const location = response.headers.get('location');
    if (!location) throw new Error(`${url}: HTTP ${response.status} and no redirect`);
    url = new URL(location, url).href;
    if (url.startsWith(REDIRECT)) {
      const back = new URL(url);
      const code = back.searchParams.get('code');
      if (!code) throw new Error(`redirected back without a code: ${url}`);
      return code;
    }
  }
  throw new Error('too many redirects');
}

describe("the MCP SDK's authorization-code flow through the gateway", function () {
  this.timeout(60_000);
  let registry: string;
  let idp: TestIdentityProvider;
  let controller: RunningController;

  before(async function () {
    registry = await mkdtemp(path.join(tmpdir(), 'mcpfleet-oauth-code-'));
    await cp(path.join(ROOT, 'registry/servers/everything'), path.join(registry, 'everything'), {
      recursive: true,
    });
    idp = await startIdentityProvider([APP], { person: { id: 'alice', groups: ['sre'] } });
    controller = await startController({
      registryDir: registry,
      port: await freePort(),
      dataDir: 'memory://',
      logger: silentLogger(),
      auth: { issuers: [idp.issuer], requiredScopes: ['mcp'], roleMap: { operator: ['sre'] } },
    });
  });
  after(async function () {
    await controller?.close();
    await idp?.close();
    await rm(registry, { recursive: true, force: true });
  });

  it('401 → metadata → authorization (PKCE, resource) → code → token → tools/call', async function () {
    const endpoint = `${controller.url}/servers/everything/mcp`;
    let tokens: OAuthTokens | undefined;
    let verifier = '';
    let authorization: URL | undefined;
    const provider: OAuthClientProvider = {
      redirectUrl: REDIRECT,
      clientMetadata: {
        client_name: 'desktop app',
        redirect_uris: [REDIRECT],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      },
      clientInformation: () => ({ client_id: APP.id, issuer: idp.issuer }),
      tokens: () => tokens,
      saveTokens: (t) => void (tokens = t),
      redirectToAuthorization: (url) => void (authorization = url),
      saveCodeVerifier: (v) => void (verifier = v),
      codeVerifier: () => verifier,
    };
    const transport = new StreamableHTTPClientTransport(new URL(endpoint), {
      authProvider: provider,
    });
    await assert.rejects(
      new Client({ name: 'app', version: '1' }).connect(transport),
      UnauthorizedError,
    );
    assert.ok(authorization, 'the SDK sent the person to the authorization endpoint');
    assert.equal(
      authorization.searchParams.get('resource'),
      endpoint,
      'with the resource indicator',
    );
    assert.equal(authorization.searchParams.get('code_challenge_method'), 'S256');
    assert.match(authorization.searchParams.get('scope') ?? '', /\bmcp\b/, "the challenge's scope");

    await transport.finishAuth(await authorizeInBrowser(authorization));
    const claims = decodeJwt(tokens!.access_token);
    assert.equal(claims.aud, endpoint);
    assert.equal(claims.sub, 'alice');

    const client = new Client({ name: 'app', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(endpoint), { authProvider: provider }),
    );
    try {
      const result = await client.callTool({ name: 'echo', arguments: { message: 'alice' } });
      assert.deepEqual(result.content, [{ type: 'text', text: 'Echo: alice' }]);
    } finally {
      await client.close();
    }
  });
});
