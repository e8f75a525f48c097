// The access gate's cost per request on the hot path: a JWT access token already verified
// (the cache hit every request after a client's first is), against an open gate, in-process
// and without network noise — what issue 10's "<= 0.1 ms added at p50" is about. Also the
// cost of a first sight (a signature check). Prints JSON.
//
//   node bench/auth-gate.ts [--iterations 200000]
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { AccessGate } from '../controller/auth/access-gate.ts';
import { JwtAuthenticator } from '../controller/auth/jwt-authenticator.ts';
import { defaultAuthSettings } from '../controller/auth/auth-settings.ts';
import { ResourceUrls } from '../controller/auth/resource-urls.ts';
import { silentLogger } from '../controller/observability/log.ts';
import { startIdentityProvider } from '../test/fixtures/oidc-provider.ts';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '200000' } } });
const iterations = Number(values.iterations);
const client = { id: 'bench', secret: 'bench-secret' };
const idp = await startIdentityProvider([client], { accessTokenTtlSeconds: 3600 });
const base = 'https://mcp.example.com';
const urls = new ResourceUrls(() => base);
const jwt = new JwtAuthenticator({
  settings: { ...defaultAuthSettings(), issuers: [idp.issuer] },
  gatewayResource: () => base,
  logger: silentLogger(),
});
const target = { surface: 'mcp', encodedSlug: 'everything', slug: 'everything' } as const;
const gates = {
  open: new AccessGate({ authenticators: [], urls }),
  jwt: new AccessGate({ authenticators: [jwt], urls }),
};
const res = {} as ServerResponse; // never written: every request below is admitted

async function perCall(gate: AccessGate, token: string | undefined, n: number): Promise<number> {
  const req = { headers: token ? { authorization: `Bearer ${token}` } : {} } as IncomingMessage;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if (!(await gate.admit(req, res, target, '', 'r'))) throw new Error('refused');
  }
  return ((performance.now() - t0) * 1000) / n;
}

const token = await idp.token(client, urls.endpoint('everything'));
const firstT0 = performance.now();
await perCall(gates.jwt, token, 1); // discovery, JWKS fetch and the signature check
const firstMs = performance.now() - firstT0;
// Fresh tokens of the same key: a signature check each, keys cached.
const fresh = await Promise.all(
  Array.from({ length: 200 }, () => idp.token(client, urls.endpoint('everything'))),
);
const signatureT0 = performance.now();
for (const t of fresh) await perCall(gates.jwt, t, 1);
const signatureUs = ((performance.now() - signatureT0) * 1000) / fresh.length;
const fetchesBefore = idp.jwksFetches;
// Warm, then measure alternately.
await perCall(gates.open, undefined, 20_000);
await perCall(gates.jwt, token, 20_000);
const open: number[] = [];
const cached: number[] = [];
for (let round = 0; round < 5; round++) {
  open.push(await perCall(gates.open, undefined, iterations / 5));
  cached.push(await perCall(gates.jwt, token, iterations / 5));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round3 = (n: number): number => Math.round(n * 1000) / 1000;
console.log(
  JSON.stringify(
    {
      bench: 'auth-gate',
      node: process.version,
      iterations,
      openGateUs: round3(median(open)),
      cachedJwtUs: round3(median(cached)),
      addedPerRequestUs: round3(median(cached) - median(open)),
      firstTokenMs: round3(firstMs),
      signatureCheckUs: round3(signatureUs),
      jwksFetchesOnHotPath: idp.jwksFetches - fetchesBefore,
      target: { addedPerRequestUs: '<= 100' },
      pass: median(cached) - median(open) <= 100 && idp.jwksFetches === fetchesBefore,
    },
    null,
    2,
  ),
);
await idp.close();
