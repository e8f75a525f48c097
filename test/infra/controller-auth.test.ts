// Issue 10, "defaults that cannot be left open by accident", infra part: the deployed controller
// checks credentials in every stack. The program generates the key-hashing secret API keys are
// hashed under, keeps it a Pulumi secret in a Kubernetes Secret and hands it to the container by
// secretKeyRef; issuer, audience, scopes and role mapping come from mcpfleet:auth; the open
// controller is an explicit opt-out only. Config mistakes fail the preview naming the key.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AUTH_KEYS } from '../../infra/auth-config.ts';
import { parseConfig } from '../../infra/config.ts';
import { readStackFile } from '../../infra/render.ts';
import {
  AUTH_SECRET,
  KEY_HASHING_REVISION_ANNOTATION,
  KEY_HASHING_SECRET_KEY,
} from '../../infra/manifests/controllerAuth.ts';
import { ofType, runStack, stackConfig, type StackRun } from './harness.ts';
import {
  controllerEnvOf,
  controllerEnvValue,
  controllerOf,
  controllerPodOf,
  k8sObject,
  localConfigError,
  stackRun,
  type Obj,
} from './runs.ts';

const SECRET = 'kubernetes:core/v1:Secret';
const PASSWORD = 'random:index/randomPassword:RandomPassword';

const podOf = controllerPodOf;
const envOf = controllerEnvOf;
const envValue = controllerEnvValue;
const keyHashingPassword = (run: StackRun) =>
  ofType(run, PASSWORD).filter((r) => r.name.includes('key-hashing'));

async function withAuth(stack: 'local' | 'prod', auth: Obj): Promise<StackRun> {
  const { config, secretKeys } = stackConfig(stack);
  return runStack({
    stack,
    secretKeys,
    config: { ...config, 'mcpfleet:auth': JSON.stringify(auth) },
  });
}

/** The error parseConfig gives for the stack's config with `auth` instead of its own. */
const authError = (auth: unknown): string => localConfigError({ auth });

describe('issue 10: the deployed controller checks credentials', function () {
  this.timeout(60_000);

  for (const stack of ['local', 'dev', 'prod'] as const) {
    it(`${stack}: the key-hashing secret is generated, a secret, and reaches the pod by secretKeyRef only`, async () => {
      const run = await stackRun(stack);
      const [password] = keyHashingPassword(run);
      assert.ok(password, 'a RandomPassword for the key-hashing secret');
      assert.ok(Number(password.inputs.length) >= 32, 'the controller refuses fewer than 32');
      const secret = k8sObject(run, SECRET, AUTH_SECRET);
      const value = (secret.inputs.stringData as Obj)[KEY_HASHING_SECRET_KEY] as string;
      assert.equal(value, `mock-generated-password-${password.name}`);
      assert.ok(
        secret.secretPaths.some((p) => `stringData.${KEY_HASHING_SECRET_KEY}`.startsWith(p)),
        `the value is a Pulumi secret (secret paths: ${secret.secretPaths.join(', ')})`,
      );
      const env = envOf(run);
      assert.deepEqual(
        env.find((e) => e.name === 'MCPFLEET_KEY_HASHING_SECRET'),
        {
          name: 'MCPFLEET_KEY_HASHING_SECRET',
          valueFrom: { secretKeyRef: { name: AUTH_SECRET, key: KEY_HASHING_SECRET_KEY } },
        },
      );
      assert.equal(envValue(run, 'MCPFLEET_INSECURE_NO_AUTH'), undefined, 'not open');
      const deployment = controllerOf(run);
      assert.ok(!JSON.stringify(deployment.inputs).includes(value), 'the value is nowhere in it');
      assert.ok(deployment.dependencies.includes(secret.urn), 'the pods start after the Secret');
      assert.equal(podOf(run).metadata.annotations[KEY_HASHING_REVISION_ANNOTATION], '0');
    });
  }

  it('local and dev name no issuer: API keys only, no token settings', async () => {
    for (const stack of ['local', 'dev'] as const) {
      const names = envOf(await stackRun(stack)).map((e) => e.name);
      assert.deepEqual(
        names.filter((n) => /^MCPFLEET_(AUTH_|ROLE_)/.test(n)),
        [],
        stack,
      );
    }
  });

  it("prod: the stack's issuer, role claim and role map become the controller's settings", async () => {
    const run = await stackRun('prod');
    const auth = readStackFile('prod').auth;
    assert.deepEqual(auth.issuers, ['https://login.acme.example.com/realms/platform']);
    assert.equal(envValue(run, 'MCPFLEET_AUTH_ISSUER'), auth.issuers.join(','));
    assert.equal(envValue(run, 'MCPFLEET_ROLE_CLAIM'), 'groups');
    assert.equal(
      envValue(run, 'MCPFLEET_ROLE_MAP'),
      'admin=platform-admins,operator=sre,operator=oncall,viewer=engineering',
    );
    // Tokens are for the URL clients call: the Ingress host.
    assert.equal(
      envValue(run, 'MCPFLEET_PUBLIC_URL'),
      `https://${readStackFile('prod').ingress.host}`,
    );
  });

  it('several issuers, a fixed audience and required scopes reach the container as comma lists', async () => {
    const run = await withAuth('local', {
      issuers: ['https://a.example.com/', 'https://b.example.com/realms/x'],
      audience: 'api://mcpfleet',
      requiredScopes: ['mcp:tools', 'mcp:read'],
      roleClaim: 'roles',
      roleMap: { viewer: ['readers'] },
    });
    assert.equal(
      envValue(run, 'MCPFLEET_AUTH_ISSUER'),
      'https://a.example.com,https://b.example.com/realms/x',
    );
    assert.equal(envValue(run, 'MCPFLEET_AUTH_AUDIENCE'), 'api://mcpfleet');
    assert.equal(envValue(run, 'MCPFLEET_AUTH_SCOPE'), 'mcp:tools,mcp:read');
    assert.equal(envValue(run, 'MCPFLEET_ROLE_CLAIM'), 'roles');
    assert.equal(envValue(run, 'MCPFLEET_ROLE_MAP'), 'viewer=readers');
  });

  it('a bumped keyHashingSecretRotation makes a new secret and restarts the pods', async () => {
    const before = await stackRun('local');
    const after = await withAuth('local', { keyHashingSecretRotation: 1 });
    const keepers = (run: StackRun) => keyHashingPassword(run)[0]!.inputs.keepers;
    assert.deepEqual(keepers(before), { rotation: '0' });
    assert.deepEqual(keepers(after), { rotation: '1' });
    assert.equal(podOf(after).metadata.annotations[KEY_HASHING_REVISION_ANNOTATION], '1');
  });

  it('insecureNoAuth: true, and only then, runs it open: no secret, the open flag set', async () => {
    const run = await withAuth('local', { insecureNoAuth: true });
    assert.equal(envValue(run, 'MCPFLEET_INSECURE_NO_AUTH'), 'true');
    assert.equal(
      envOf(run).find((e) => e.name === 'MCPFLEET_KEY_HASHING_SECRET'),
      undefined,
      'a key-hashing secret would turn keys on',
    );
    assert.deepEqual(keyHashingPassword(run), []);
    assert.ok(!ofType(run, SECRET).some((s) => (s.inputs.metadata as Obj).name === AUTH_SECRET));
  });

  it('refuses a mistaken mcpfleet:auth naming the key and the fix', () => {
    const cases: [unknown, RegExp][] = [
      [
        { issuers: ['https://id.example.com'], roleMap: { superadmin: ['ops'] } },
        /mcpfleet:auth\.roleMap\.superadmin: unknown role "superadmin": the roles are admin, operator, viewer/,
      ],
      [
        { issuers: ['https://id.example.com'], roleMap: { admin: ['a,b'] } },
        /mcpfleet:auth\.roleMap\.admin\.0: "a,b" cannot reach the controller as written/,
      ],
      [
        { issuers: ['https://id.example.com'], roleMap: { admin: [] } },
        /mcpfleet:auth\.roleMap\.admin: expected at least one group/,
      ],
      [
        { issuers: ['http://id.example.com'] },
        /mcpfleet:auth\.issuers\.0: issuer "http:\/\/id\.example\.com" must be https/,
      ],
      [
        { issuers: ['id.example.com'] },
        /mcpfleet:auth\.issuers\.0: "id\.example\.com" is not an issuer URL/,
      ],
      [
        { roleMap: { admin: ['platform-admins'] } },
        /mcpfleet:auth\.roleMap: applies to access tokens, but mcpfleet:auth\.issuers names no issuer.*pulumi config set --path "mcpfleet:auth\.issuers\[0\]"/,
      ],
      [{ audience: 'api://x' }, /mcpfleet:auth\.audience: applies to access tokens/],
      [
        { issuers: ['https://id.example.com'], requiredScopes: ['mcp tools'] },
        /mcpfleet:auth\.requiredScopes\.0: expected an OAuth scope/,
      ],
      [
        { issuers: ['https://id.example.com'], insecureNoAuth: true },
        /mcpfleet:auth\.insecureNoAuth: true opens the controller to everyone, yet issuers are named/,
      ],
      [{ insecureNoAuth: 'yes' }, /mcpfleet:auth\.insecureNoAuth: expected true or false/],
      [{ issuer: 'https://id.example.com' }, /mcpfleet:auth: unknown key\(s\) issuer/],
      [
        { keyHashingSecretRotation: -1 },
        /mcpfleet:auth\.keyHashingSecretRotation: expected a non-negative integer/,
      ],
    ];
    for (const [auth, expected] of cases) assert.match(authError(auth), expected);
  });

  it('the identity provider runbook documents every mcpfleet:auth key', () => {
    const page = readFileSync('docs/runbooks/connect-your-identity-provider.md', 'utf8');
    for (const key of AUTH_KEYS) assert.ok(page.includes(`| \`${key}\` |`), key);
    assert.ok(page.includes(`pulumi config set --path 'mcpfleet:auth.issuers[0]'`));
  });

  it('defaults to keys on and nothing else when mcpfleet:auth is absent', () => {
    const { auth: _, ...rest } = readStackFile('local');
    assert.deepEqual(parseConfig(rest).auth, {
      issuers: [],
      roleClaim: 'groups',
      roleMap: {},
      requiredScopes: [],
      keyHashingSecretRotation: 0,
      insecureNoAuth: false,
    });
  });
});
