// `mcpfleet serve` flags → StartOptions: the controller Deployment's exact args and env are
// accepted, combinations are checked with clear errors, and the Host allow-list a controller
// derives for itself (bound to a pod's interfaces) accepts its own names and nothing else.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CommanderError } from 'commander';
import { request } from 'undici';
import { loadPlatformPolicy } from '../../../infra/platform-policy.ts';
import { STACKS } from '../../../infra/render.ts';
import { ServerPolicies } from '../../../controller/auth/policy/server-policies.ts';
import type { Principal } from '../../../controller/auth/principal.ts';
import { buildProgram } from '../../../controller/cli/main.ts';
import { RUNTIMES } from '../../../controller/fleet/create-fleet.ts';
import { RENDER_STACKS } from '../../../controller/cli/commands/render.ts';
import {
  serveStartOptions,
  type FlagSource,
  type ServeEnvironment,
  type ServeFlags,
} from '../../../controller/cli/commands/serve.ts';
import { OriginPolicy } from '../../../controller/gateway/validate-request.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import {
  controllerHostNames,
  listenHost,
  startController,
  type StartOptions,
} from '../../../controller/start.ts';
import { stdioFixture } from '../fleet/specs.ts';
import { controllerContainer } from './controller-manifest.ts';

/** A machine outside any cluster, with no ~/.kube/config. */
const WORKSTATION: ServeEnvironment = {
  inCluster: false,
  defaultKubeconfig: undefined,
  hostname: 'laptop',
  fileExists: () => false,
  stdoutIsTTY: false,
};
const POD: ServeEnvironment = { ...WORKSTATION, inCluster: true, hostname: 'from-hostname' };

/** Parses `mcpfleet serve <args>` with exactly `env` as the environment; the action is replaced. */
async function parseServe(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ flags: ServeFlags; sourceOf: FlagSource }> {
  const program = buildProgram();
  const serve = program.commands.find((c) => c.name() === 'serve')!;
  let errors = '';
  serve.configureOutput({ writeErr: (text) => (errors += text), writeOut: () => undefined });
  let parsed: { flags: ServeFlags; sourceOf: FlagSource } | undefined;
  serve.action((flags: ServeFlags, command: typeof serve) => {
    parsed = { flags, sourceOf: (key) => command.getOptionValueSource(key) };
  });
  const saved = process.env;
  process.env = { ...env };
  try {
    await program.parseAsync(['node', 'mcpfleet', 'serve', ...args]);
  } catch (err) {
    if (err instanceof CommanderError)
      throw new Error(errors.trim() || err.message, { cause: err });
    throw err;
  } finally {
    process.env = saved;
  }
  assert.ok(parsed, 'the serve action ran');
  return parsed;
}

async function resolve(
  args: string[],
  env: Record<string, string> = {},
  environment: ServeEnvironment = WORKSTATION,
): Promise<StartOptions> {
  const { flags, sourceOf } = await parseServe(args, env);
  return serveStartOptions(flags, sourceOf, environment);
}

describe('mcpfleet serve options', function () {
  it("accepts the controller Deployment's exact args and env", async function () {
    const container = controllerContainer();
    assert.deepEqual(container.args.slice(0, 3), ['serve', '--runtime', 'kubernetes']);
    const options = await resolve(container.args.slice(1), container.env, POD);
    assert.deepEqual(options, {
      runtime: 'kubernetes',
      // In a pod: no kubeconfig, the service account's in-cluster config.
      kubernetes: { namespace: container.namespace, podName: container.podName },
      publicUrl: container.publicUrl,
      registryDir: container.registryMount,
      host: undefined, // → 0.0.0.0 for the kubernetes runtime
      port: 8080,
      databaseUrl: container.env.DATABASE_URL,
      dataDir: '.mcpfleet/pgdata',
      redisUrl: container.env.REDIS_URL,
      idleTimeoutMs: undefined,
      maxBodyBytes: undefined,
      allowedOrigins: undefined,
      allowedHosts: undefined,
      logLevel: container.env.MCPFLEET_LOG_LEVEL,
      logFormat: 'json', // a pod's stdout is no terminal
      // Not open: API keys, hashed under the Secret's key-hashing secret (dev names no issuer).
      keyHashingSecret: container.env.MCPFLEET_KEY_HASHING_SECRET,
    });
  });

  it("takes the prod stack's issuer and role map from the Deployment's env (mcpfleet:auth)", async function () {
    const container = controllerContainer({}, 'prod');
    const options = await resolve(container.args.slice(1), container.env, POD);
    assert.deepEqual(options.auth, {
      issuers: ['https://login.acme.example.com/realms/platform'],
      roleClaim: 'groups',
      roleMap: { admin: ['platform-admins'], operator: ['sre', 'oncall'], viewer: ['engineering'] },
    });
    assert.equal(options.publicUrl, 'https://mcp.acme.example.com', 'the resource tokens are for');
    assert.equal(options.keyHashingSecret, container.env.MCPFLEET_KEY_HASHING_SECRET);
  });

  it('takes mcpfleet:auth.policyFile and mcpfleet:audit.retention from the Deployment, and the mounted file loads', async function () {
    const fixture = 'test/infra/fixtures/platform.cedar';
    // The file as the program checked it at preview, and the pod that mounts it.
    const platformPolicy = await loadPlatformPolicy(fixture);
    const container = controllerContainer({}, 'dev', {
      platformPolicy,
      audit: { retention: '90d' },
    });
    const options = await resolve(container.args.slice(1), container.env, POD);
    assert.equal(options.policyFile, '/etc/mcpfleet/policy/platform.cedar');
    assert.deepEqual(options.audit, { retentionMs: 90 * 86_400_000 });

    // What the kubelet puts at that path: the ConfigMap's content. The controller's own policy
    // loading (start.ts opens ServerPolicies with options.policyFile) reads it there.
    const content = container.files[options.policyFile!];
    assert.equal(content, readFileSync(fixture, 'utf8'), 'the file, at the path the env names');
    const root = await mkdtemp(path.join(tmpdir(), 'mcpfleet-pod-'));
    try {
      const file = path.join(root, options.policyFile!);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, content!);
      const policies = await ServerPolicies.open({
        specs: [stdioFixture('everything', 'normal')],
        policyFile: file,
      });
      // Rule names are the repository file's: its @id, or platform.cedar:<line>.
      assert.deepEqual(policies.platformPolicies.toSorted(), ['no-env', 'platform.cedar:10']);
      const ci: Principal = {
        id: 'key:ci-id',
        kind: 'key',
        name: 'ci',
        roles: ['operator'],
        groups: [],
        scopes: [],
      };
      const refused = policies.mayCall(ci, 'everything', 'delete_file');
      assert.deepEqual(
        { allowed: refused.allowed, rule: refused.rule },
        { allowed: false, rule: 'platform.cedar:10' },
      );
      assert.equal(policies.mayCall(ci, 'everything', 'echo').allowed, true);
      assert.equal(policies.mayCall(ci, 'everything', 'get-env').rule, 'no-env');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('logs JSON unless a person watches: pretty on a terminal, either when asked', async function () {
    const TERMINAL = { ...WORKSTATION, stdoutIsTTY: true };
    const format = async (
      args: string[],
      env: Record<string, string> = {},
      environment = WORKSTATION,
    ): Promise<StartOptions['logFormat']> => (await resolve(args, env, environment)).logFormat;
    assert.equal(await format([]), 'json');
    assert.equal(await format([], {}, TERMINAL), 'pretty');
    assert.equal(await format(['--log-format', 'pretty']), 'pretty');
    assert.equal(await format(['--log-format', 'json'], {}, TERMINAL), 'json');
    assert.equal(await format(['--log-format', 'auto'], {}, TERMINAL), 'pretty');
    assert.equal(await format([], { MCPFLEET_LOG_FORMAT: 'pretty' }), 'pretty');
    assert.equal(await format([], { MCPFLEET_LOG_FORMAT: 'json' }, TERMINAL), 'json');
    assert.equal(
      await format(['--log-format', 'pretty'], { MCPFLEET_LOG_FORMAT: 'json' }),
      'pretty',
    );
    await assert.rejects(
      resolve(['--log-format', 'yaml']),
      /option '--log-format <format>' argument 'yaml' is invalid\. Allowed choices are auto, json, pretty/,
    );
  });

  it('reads every kubernetes setting from the environment alone', async function () {
    const options = await resolve(
      [],
      {
        MCPFLEET_RUNTIME: 'kubernetes',
        MCPFLEET_NAMESPACE: 'fleet',
        MCPFLEET_POD_NAME: 'controller-0',
        MCPFLEET_REGISTRY_DIR: '/etc/mcpfleet/registry',
        MCPFLEET_PUBLIC_URL: 'https://mcp.example.com',
        MCPFLEET_HOST: '10.0.0.7',
        KUBECONFIG: '/home/me/.kube/a:/home/me/.kube/b',
      },
      { ...WORKSTATION, fileExists: (file) => file === '/home/me/.kube/b' },
    );
    assert.equal(options.runtime, 'kubernetes');
    assert.deepEqual(options.kubernetes, {
      namespace: 'fleet',
      podName: 'controller-0',
      kubeconfig: '/home/me/.kube/a:/home/me/.kube/b',
    });
    assert.equal(options.registryDir, '/etc/mcpfleet/registry');
    assert.equal(options.publicUrl, 'https://mcp.example.com');
    assert.equal(options.host, '10.0.0.7');
  });

  it('bounds the log: --log-buffer and --server-log-rate, or their variables', async function () {
    const defaults = await resolve([]);
    assert.equal(defaults.logBufferBytes, undefined);
    assert.equal(defaults.fleet, undefined);
    const options = await resolve(['--log-buffer', '1MiB', '--server-log-rate', '20']);
    assert.equal(options.logBufferBytes, 1024 * 1024);
    assert.deepEqual(options.fleet?.runtimeOptions?.outputRate, {
      linesPerSecond: 20,
      burst: 200,
    });
    const fromEnv = await resolve([], {
      MCPFLEET_LOG_BUFFER: '64KiB',
      MCPFLEET_SERVER_LOG_RATE: '0.5',
    });
    assert.equal(fromEnv.logBufferBytes, 64 * 1024);
    assert.equal(fromEnv.fleet?.runtimeOptions?.outputRate?.linesPerSecond, 0.5);
    await assert.rejects(
      resolve(['--server-log-rate', '0']),
      /option '--server-log-rate <lines>' argument '0' is invalid\. "0" is not a positive number/,
    );
    await assert.rejects(resolve(['--log-buffer', 'lots']), /--log-buffer <size>/);
  });

  it('takes the key-hashing secret from --key-hashing-secret or its variable', async function () {
    const secret = 'k'.repeat(40);
    assert.equal((await resolve(['--key-hashing-secret', secret])).keyHashingSecret, secret);
    assert.equal(
      (await resolve([], { MCPFLEET_KEY_HASHING_SECRET: secret })).keyHashingSecret,
      secret,
    );
    assert.ok(!('keyHashingSecret' in (await resolve([]))));
  });

  it('defaults: local runtime, the registry checkout, the host left to startController', async function () {
    const options = await resolve([]);
    assert.equal(options.runtime, 'local');
    assert.equal(options.kubernetes, undefined);
    assert.equal(options.registryDir, 'registry/servers');
    assert.equal(options.host, undefined);
    assert.equal((await resolve(['--host', '0.0.0.0'])).host, '0.0.0.0');
  });

  it('kubernetes: pod name from the hostname, kubeconfig from ~/.kube/config outside a pod', async function () {
    const options = await resolve(
      ['--runtime', 'kubernetes', '--namespace', 'fleet'],
      {},
      {
        ...WORKSTATION,
        defaultKubeconfig: '/home/me/.kube/config',
      },
    );
    assert.deepEqual(options.kubernetes, {
      namespace: 'fleet',
      podName: 'laptop',
      kubeconfig: '/home/me/.kube/config',
    });
    const inPod = await resolve(['--runtime', 'kubernetes', '--namespace', 'fleet'], {}, POD);
    assert.deepEqual(inPod.kubernetes, { namespace: 'fleet', podName: 'from-hostname' });
  });

  it('refuses bad combinations with one clear line each', async function () {
    const cases: Array<[string[], Record<string, string>, ServeEnvironment, string | RegExp]> = [
      [
        ['--runtime', 'kubernetes'],
        {},
        POD,
        '--runtime kubernetes needs --namespace or MCPFLEET_NAMESPACE',
      ],
      [
        ['--runtime', 'kubernetes', '--namespace', 'Team_A'],
        {},
        POD,
        /^--namespace "Team_A" is not a Kubernetes namespace name/,
      ],
      [
        ['--runtime', 'kubernetes', '--namespace', 'fleet'],
        {},
        WORKSTATION,
        '--runtime kubernetes outside a pod needs --kubeconfig or KUBECONFIG (there is no in-cluster service account here, and no ~/.kube/config)',
      ],
      [
        ['--runtime', 'kubernetes', '--namespace', 'fleet', '--kubeconfig', '/nope'],
        {},
        POD,
        '--kubeconfig /nope: no such file',
      ],
      [
        ['--runtime', 'kubernetes', '--namespace', 'fleet'],
        { KUBECONFIG: '/nope' },
        POD,
        'KUBECONFIG /nope: no such file',
      ],
      [
        ['--namespace', 'fleet', '--pod-name', 'x'],
        {},
        WORKSTATION,
        '--namespace, --pod-name apply only to --runtime kubernetes (this is --runtime local)',
      ],
      [
        ['--public-url', 'mcp.example.com'],
        {},
        WORKSTATION,
        '--public-url "mcp.example.com" is not an http(s) URL, e.g. https://mcp.example.com',
      ],
    ];
    for (const [args, env, environment, message] of cases) {
      await assert.rejects(resolve(args, env, environment), (err: Error) => {
        if (typeof message === 'string') assert.equal(err.message, message, args.join(' '));
        else assert.match(err.message, message, args.join(' '));
        return true;
      });
    }
    await assert.rejects(parseServe(['--runtime', 'docker']), /argument 'docker' is invalid/);
  });

  it('ignores kubernetes settings that come from the environment of a local run', async function () {
    const options = await resolve([], {
      MCPFLEET_NAMESPACE: 'fleet',
      KUBECONFIG: '/home/me/.kube/config',
    });
    assert.equal(options.runtime, 'local');
    assert.equal(options.kubernetes, undefined);
  });

  it('listens on every interface for kubernetes, loopback locally, unless --host says otherwise', function () {
    assert.equal(listenHost('kubernetes'), '0.0.0.0');
    assert.equal(listenHost('local'), '127.0.0.1');
    assert.equal(listenHost('kubernetes', '10.0.0.7'), '10.0.0.7');
  });

  it('keeps its copies of the stack and runtime names equal to the originals', function () {
    assert.deepEqual(RENDER_STACKS, STACKS);
    const serve = buildProgram().commands.find((c) => c.name() === 'serve')!;
    const runtime = serve.options.find((o) => o.long === '--runtime')!;
    assert.deepEqual(runtime.argChoices, RUNTIMES);
  });
});

describe('the Host names a controller accepts', function () {
  const pod = {
    host: '0.0.0.0',
    runtime: 'kubernetes' as const,
    namespace: 'mcpfleet',
    podName: 'mcpfleet-controller-abc',
    publicUrl: 'https://mcp.example.com',
    addresses: ['10.244.1.17', '[fd00::17]'],
    machineName: 'mcpfleet-controller-abc',
  };
  const policy = (hosts: string[] | undefined, listenHost = '0.0.0.0') =>
    new OriginPolicy({ listenHost, allowedHosts: hosts });

  it('in a pod: the public host, the Service names, the pod IP and name, loopback', function () {
    const check = policy(controllerHostNames(pod));
    for (const host of [
      'mcp.example.com',
      'mcp.example.com:443',
      'mcpfleet-controller',
      'mcpfleet-controller.mcpfleet',
      'mcpfleet-controller.mcpfleet.svc:80',
      'mcpfleet-controller.mcpfleet.svc.cluster.local',
      '10.244.1.17:8080',
      '[fd00::17]:8080',
      'mcpfleet-controller-abc:8080',
      'localhost:8080',
    ]) {
      assert.deepEqual(check.check(host, undefined), { ok: true }, host);
    }
    for (const host of ['evil.example', 'mcpfleet-controller.other.svc', '10.244.1.18:8080']) {
      assert.equal(check.check(host, undefined).ok, false, host);
    }
    // A page served at the public URL is same-origin with the gateway.
    assert.deepEqual(check.check('mcp.example.com', 'https://mcp.example.com'), { ok: true });
  });

  it('--allowed-hosts adds to the derived names; "*" accepts any', function () {
    const check = policy(controllerHostNames({ ...pod, allowedHosts: ['mcp.internal:8080'] }));
    assert.deepEqual(check.check('mcp.internal:8080', undefined), { ok: true });
    assert.deepEqual(check.check('mcp.example.com', undefined), { ok: true });
    assert.deepEqual(controllerHostNames({ ...pod, allowedHosts: ['*', 'x'] }), ['*']);
  });

  it('locally: loopback plus the public host; bound elsewhere with nothing to go on, any', function () {
    assert.deepEqual(
      controllerHostNames({
        host: '127.0.0.1',
        runtime: 'local',
        publicUrl: 'https://mcp.example.com',
      }),
      ['mcp.example.com'],
    );
    assert.equal(controllerHostNames({ host: '127.0.0.1', runtime: 'local' }), undefined);
    assert.equal(controllerHostNames({ host: '0.0.0.0', runtime: 'local' }), undefined);
    const lan = controllerHostNames({
      host: '0.0.0.0',
      runtime: 'local',
      allowedHosts: ['box.lan'],
      addresses: ['192.168.1.5'],
      machineName: 'box',
    });
    assert.deepEqual(lan, ['box.lan', '192.168.1.5', 'box']);
  });

  it('a running controller accepts --public-url as Host and refuses others', async function () {
    const controller = await startController({
      specs: [],
      port: 0,
      dataDir: 'memory://',
      logger: silentLogger(),
      publicUrl: 'https://mcp.example.com/',
    });
    try {
      assert.equal(controller.publicUrl, 'https://mcp.example.com');
      const status = async (host: string): Promise<number> => {
        const response = await request(`${controller.url}/api/v1/servers`, { headers: { host } });
        await response.body.text();
        return response.statusCode;
      };
      assert.equal(await status('mcp.example.com'), 200);
      assert.equal(await status('evil.example'), 403);
    } finally {
      await controller.close();
    }
  });

  it('takes the identity settings: issuers repeated or listed, roles mapped, scopes', async function () {
    const options = await resolve(
      [
        '--auth-issuer',
        'https://login.example.com/realms/main/',
        '--auth-issuer',
        'https://b.example.com,https://c.example.com',
        '--role-map',
        'admin=platform-admins,operator=sre,operator=oncall',
        '--role-claim',
        'roles',
        '--auth-scope',
        'mcp:tools',
      ],
      { MCPFLEET_AUTH_AUDIENCE: 'api://mcpfleet' },
    );
    assert.deepEqual(options.auth, {
      issuers: [
        'https://login.example.com/realms/main',
        'https://b.example.com',
        'https://c.example.com',
      ],
      audience: 'api://mcpfleet',
      requiredScopes: ['mcp:tools'],
      roleClaim: 'roles',
      roleMap: { admin: ['platform-admins'], operator: ['sre', 'oncall'] },
    });
    const fromEnv = await resolve([], {
      MCPFLEET_AUTH_ISSUER: 'https://a.example.com,https://b.example.com',
    });
    assert.deepEqual(fromEnv.auth?.issuers, ['https://a.example.com', 'https://b.example.com']);
  });

  it('refuses identity settings that cannot be right, saying why', async function () {
    await assert.rejects(
      resolve(['--role-map', 'root=wheel']),
      /the role must be one of admin, operator, viewer/,
    );
    await assert.rejects(resolve(['--role-map', 'admin=']), /name the group that grants admin/);
    await assert.rejects(
      resolve(['--auth-issuer', 'http://login.example.com']),
      /must be https \(http only on loopback\)/,
    );
    await assert.rejects(resolve(['--auth-issuer', 'not a url']), /is not an issuer URL/);
  });
});
