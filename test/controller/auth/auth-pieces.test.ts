// The small pieces of the access gate, each on its own: where an issuer's metadata is looked
// for, how a challenge quotes what it says, which metadata document a path asks for, the
// verified-token cache's bound and expiry, and an issuer that cannot be reached.
import assert from 'node:assert/strict';
import { SignJWT, generateKeyPair } from 'jose';
import { defaultAuthSettings } from '../../../controller/auth/auth-settings.ts';
import { CredentialCheckUnavailable } from '../../../controller/auth/credential-check-unavailable.ts';
import { wwwAuthenticate } from '../../../controller/auth/challenge.ts';
import { metadataUrls } from '../../../controller/auth/issuer-metadata.ts';
import { JwtAuthenticator } from '../../../controller/auth/jwt-authenticator.ts';
import { ANONYMOUS, isRefusal } from '../../../controller/auth/principal.ts';
import { ResourceUrls, metadataTarget } from '../../../controller/auth/resource-urls.ts';
import { VerifiedTokens } from '../../../controller/auth/verified-tokens.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { startIdentityProvider } from '../../fixtures/oidc-provider.ts';
import { freePort } from '../support/free-port.ts';

describe('access gate pieces', function () {
  it("looks for an issuer's metadata where RFC 8414 and OpenID Connect put it", function () {
    assert.deepEqual(metadataUrls('https://login.example.com/realms/main'), [
      'https://login.example.com/.well-known/oauth-authorization-server/realms/main',
      'https://login.example.com/.well-known/openid-configuration/realms/main',
      'https://login.example.com/realms/main/.well-known/openid-configuration',
    ]);
    assert.deepEqual(metadataUrls('https://idp.example.com'), [
      'https://idp.example.com/.well-known/oauth-authorization-server',
      'https://idp.example.com/.well-known/openid-configuration',
    ]);
  });

  it('quotes what a challenge says (RFC 9110 quoted-string), and names no error without a token', function () {
    const header = wwwAuthenticate({
      error: 'invalid_token',
      description: 'the "sub" is \\ odd\nreally',
      resourceMetadata: 'https://mcp.example.com/.well-known/oauth-protected-resource',
      scopes: ['mcp', 'tools'],
    });
    assert.equal(
      header,
      'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource", ' +
        'scope="mcp tools", error="invalid_token", error_description="the \\"sub\\" is \\\\ odd really"',
    );
    assert.equal(
      wwwAuthenticate({ description: 'x', resourceMetadata: 'https://m/x', scopes: [] }),
      'Bearer resource_metadata="https://m/x"',
    );
  });

  it('puts the well-known segment between the host and the path (RFC 9728 §3.1)', function () {
    const urls = new ResourceUrls(() => 'https://mcp.example.com');
    assert.equal(urls.endpoint('github'), 'https://mcp.example.com/servers/github/mcp');
    assert.equal(
      urls.metadataUrl(urls.endpoint('github')),
      'https://mcp.example.com/.well-known/oauth-protected-resource/servers/github/mcp',
    );
    assert.equal(
      urls.metadataUrl(urls.gateway()),
      'https://mcp.example.com/.well-known/oauth-protected-resource',
    );
    assert.deepEqual(metadataTarget('/.well-known/oauth-protected-resource'), {});
    assert.deepEqual(metadataTarget('/.well-known/oauth-protected-resource/servers/gh/mcp'), {
      slug: 'gh',
    });
    assert.equal(metadataTarget('/.well-known/oauth-protected-resource/elsewhere'), undefined);
    assert.equal(metadataTarget('/servers/gh/mcp'), undefined);
  });

  it('keeps at most its capacity of verified tokens, and none past its validity', function () {
    const cache = new VerifiedTokens(2);
    const entry = (validUntil: number) => ({ principal: ANONYMOUS, audiences: ['a'], validUntil });
    cache.set('one', entry(Date.now() + 60_000));
    cache.set('two', entry(Date.now() + 60_000));
    assert.ok(cache.get('one'), 'used: now the most recent');
    cache.set('three', entry(Date.now() + 60_000));
    assert.equal(cache.size, 2);
    assert.equal(cache.get('two'), undefined, 'the least recently used went');
    assert.ok(cache.get('one'));
    cache.set('old', entry(Date.now() - 1));
    assert.equal(cache.get('old'), undefined, 'expired');
  });

  it('cannot check, without hanging, the tokens of an issuer it cannot reach (a 503, not a 401)', async function () {
    const issuer = `http://127.0.0.1:${await freePort()}`; // nothing listens there
    const jwt = new JwtAuthenticator({
      settings: { ...defaultAuthSettings(), issuers: [issuer] },
      gatewayResource: () => 'https://mcp.example.com',
      logger: silentLogger(),
    });
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(issuer)
      .setSubject('s')
      .setAudience('https://mcp.example.com')
      .setExpirationTime('5m')
      .sign(privateKey);
    assert.ok(jwt.recognises(token));
    assert.equal(jwt.recognises('mcpf_abc_def'), false, 'an API key is not a JWT');
    await assert.rejects(jwt.verify(token, 'https://mcp.example.com/servers/x/mcp'), (err) => {
      assert.ok(err instanceof CredentialCheckUnavailable);
      assert.match(err.message, new RegExp(`issuer ${issuer} is unavailable`));
      return true;
    });
  });
});

describe('JWT access tokens, checked by the authenticator itself', function () {
  this.timeout(30_000);

  it('trusts several issuers, maps groups to roles, and checks a fixed audience when told', async function () {
    const client = { id: 'machine', secret: 'machine-secret', groups: ['sre', 'other'] };
    const [a, b] = [await startIdentityProvider([client]), await startIdentityProvider([client])];
    try {
      const resource = 'https://mcp.example.com/servers/x/mcp';
      const jwt = new JwtAuthenticator({
        settings: {
          ...defaultAuthSettings(),
          issuers: [a.issuer, b.issuer],
          roleMap: { operator: ['sre'], admin: ['platform-admins'] },
        },
        gatewayResource: () => 'https://mcp.example.com',
        logger: silentLogger(),
      });
      const fromB = await jwt.verify(await b.token(client, resource, 'mcp'), resource);
      assert.ok(!isRefusal(fromB), 'the second issuer is trusted too');
      assert.equal(fromB.id, `token:${b.issuer}#machine`);
      assert.deepEqual(fromB.roles, ['operator']);
      assert.deepEqual(fromB.groups, ['sre', 'other']);
      assert.deepEqual(fromB.scopes, ['mcp']);

      const fixed = new JwtAuthenticator({
        settings: { ...defaultAuthSettings(), issuers: [a.issuer], audience: 'api://mcpfleet' },
        gatewayResource: () => 'https://mcp.example.com',
        logger: silentLogger(),
      });
      assert.ok(!isRefusal(await fixed.verify(await a.token(client, 'api://mcpfleet'), resource)));
      const forResource = await fixed.verify(await a.token(client, resource), resource);
      assert.ok(isRefusal(forResource), 'with --auth-audience, the resource itself is not enough');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
