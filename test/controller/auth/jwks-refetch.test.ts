// Tokens naming key ids the issuer never published (garbage, or an attacker's) cannot make
// the gateway hammer the issuer: an unknown kid reads the JWKS again at most once per
// cooldown (jose's remote key set: 30 s by default), concurrent ones sharing that read.
// (oauth-gateway.test.ts runs with no cooldown to see a real rotation picked up at once.)
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { defaultAuthSettings } from '../../../controller/auth/auth-settings.ts';
import { JwtAuthenticator } from '../../../controller/auth/jwt-authenticator.ts';
import { isRefusal } from '../../../controller/auth/principal.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { startIdentityProvider, type TestIdentityProvider } from '../../fixtures/oidc-provider.ts';

const RESOURCE = 'https://mcp.example.com/servers/x/mcp';
const CLIENT = { id: 'machine', secret: 'machine-secret' };

describe('JWKS reads for unknown key ids', function () {
  this.timeout(30_000);
  let idp: TestIdentityProvider;

  before(async () => {
    idp = await startIdentityProvider([CLIENT]);
  });
  after(async () => {
    await idp?.close();
  });

  async function unknownKid(kid: string): Promise<string> {
    return new SignJWT({ scope: 'mcp' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(idp.issuer)
      .setSubject('someone')
      .setAudience(RESOURCE)
      .setExpirationTime('5m')
      .sign(idp.key.privateKey);
  }

  it('reads the keys at most once per cooldown, however many unknown kids arrive', async function () {
    const jwt = new JwtAuthenticator({
      settings: { ...defaultAuthSettings(), issuers: [idp.issuer] }, // the default cooldown
      gatewayResource: () => 'https://mcp.example.com',
      logger: silentLogger(),
    });
    const good = await jwt.verify(await idp.token(CLIENT, RESOURCE, 'mcp'), RESOURCE);
    assert.ok(!isRefusal(good), 'a token of the published key is accepted');
    const fetches = idp.jwksFetches;
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => unknownKid(`k${i}`)));
    const verdicts = [
      ...(await Promise.all(tokens.slice(0, 10).map((t) => jwt.verify(t, RESOURCE)))),
    ];
    for (const token of tokens.slice(10)) verdicts.push(await jwt.verify(token, RESOURCE));
    for (const verdict of verdicts) {
      assert.ok(isRefusal(verdict));
      assert.equal(
        verdict.description,
        'the token is signed with a key its issuer does not publish',
      );
    }
    assert.equal(idp.jwksFetches - fetches, 0, 'the first read was less than a cooldown ago');
  });
});
