// What a server's process can see of the controller: real children (server-everything over
// stdio behind the bridge, and in its own HTTP mode) asked for their environment with the
// `get-env` tool any caller can use, and their command lines as every local user sees them
// (/proc/<pid>/cmdline). The controller's environment holds a database URL, a Redis URL and
// another server's token; none of it may reach a child, and a secret never reaches argv.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { liveChildPids } from '../../../controller/bridge/process-group.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { LocalRuntime } from '../../../controller/runtime/local.ts';
import type { Replica } from '../../../controller/runtime/runtime.ts';
import type { WorkloadSpec } from '../../../registry/catalog/spec.ts';
import { everythingHttp, everythingStdio } from '../fleet/specs.ts';
import { waitFor } from '../support/processes.ts';

/** Set in this process's own environment, as a controller started from a shell has them. */
const CONTROLLER_ENV: Record<string, string> = {
  DATABASE_URL: 'postgres://controller:db-password@127.0.0.1/prod',
  REDIS_URL: 'redis://:redis-password@127.0.0.1:6379',
  AWS_SECRET_ACCESS_KEY: 'controller-cloud-credential',
  OTHER_SERVER_TOKEN: 'another-servers-secret',
  EVERYTHING_TOKEN: 'this-servers-own-secret',
};
const LEAKS = ['DATABASE_URL', 'REDIS_URL', 'AWS_SECRET_ACCESS_KEY', 'OTHER_SERVER_TOKEN'];

/** A spec that declares one secret of its own and one plain variable. */
function withSecret(spec: WorkloadSpec): WorkloadSpec {
  spec.secretEnv = [{ env: 'EVERYTHING_TOKEN', secretName: 'everything', key: 'token' }];
  spec.env = { ...spec.env, PLAIN_SETTING: 'plain-value' };
  return spec;
}

async function environmentOf(url: string): Promise<Record<string, string>> {
  const client = new Client({ name: 'env-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const result = await client.callTool({ name: 'get-env', arguments: {} });
    return JSON.parse((result.content as [{ text: string }])[0].text) as Record<string, string>;
  } finally {
    await client.close();
  }
}

function commandLine(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

describe('what a child process sees of the controller', function () {
  this.timeout(30_000);
  const runtime = new LocalRuntime({ logger: silentLogger() });
  const replicas: Replica[] = [];
  before(() => Object.assign(process.env, CONTROLLER_ENV));
  after(() => {
    for (const name of Object.keys(CONTROLLER_ENV)) delete process.env[name];
  });
  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((r) => r.stop()));
  });

  for (const [transport, spec] of [
    ['stdio (behind the bridge)', () => withSecret(everythingStdio('env-stdio'))],
    ['streamable HTTP', () => withSecret(everythingHttp('env-http'))],
  ] as const) {
    it(`a ${transport} child gets the platform's variables and its own, nothing else`, async () => {
      const replica = await runtime.start(spec());
      replicas.push(replica);
      let env: Record<string, string> = {};
      await waitFor(
        async () => {
          env = await environmentOf(replica.url).catch(() => ({}));
          return Object.keys(env).length > 0;
        },
        15_000,
        'get-env to answer',
      );
      for (const name of LEAKS) assert.equal(env[name], undefined, `${name} leaked to the child`);
      const text = JSON.stringify(env);
      for (const name of LEAKS) assert.ok(!text.includes(CONTROLLER_ENV[name]!), name);
      assert.equal(env.EVERYTHING_TOKEN, 'this-servers-own-secret', 'its declared secret');
      assert.equal(env.PLAIN_SETTING, 'plain-value', "the spec's env");
      assert.equal(env.PATH, process.env.PATH, 'the platform: PATH');
      assert.equal(env.HOME, process.env.HOME, 'the platform: HOME');
    });
  }

  it("expands $(VAR) from the server's own variables into argv, never a secret", async () => {
    const spec = withSecret(everythingStdio('argv'));
    spec.env.MODE_NAME = 'stdio';
    spec.env.TOKEN_URL = 'https://$(EVERYTHING_TOKEN)@api.example';
    spec.args = ['$(MODE_NAME)'];
    const before = new Set(liveChildPids());
    const replica = await runtime.start(spec);
    replicas.push(replica);
    const env = await environmentOf(replica.url);
    assert.equal(env.TOKEN_URL, 'https://this-servers-own-secret@api.example', 'in env: expanded');
    const pids = liveChildPids().filter((pid) => !before.has(pid));
    assert.ok(pids.length > 0);
    for (const pid of pids) {
      const argv = commandLine(pid);
      assert.equal(argv.at(-1), 'stdio', 'a plain reference is expanded on the command line');
      assert.ok(!argv.join(' ').includes('this-servers-own-secret'), 'no secret in argv');
    }
  });

  it('refuses an argument that would carry a secret, directly or through a variable', () => {
    for (const args of [['--token', '$(EVERYTHING_TOKEN)'], ['--url=$(TOKEN_URL)']]) {
      const spec = withSecret(everythingStdio('secret-arg'));
      spec.env.TOKEN_URL = 'https://$(EVERYTHING_TOKEN)@api.example';
      spec.args = ['stdio', ...args];
      const check = runtime.check(spec);
      assert.equal(check.ok, false, args.join(' '));
      assert.match(
        (check as { reason: string }).reason,
        /would put the secret (EVERYTHING_TOKEN|TOKEN_URL) on the command line/,
      );
    }
  });

  it("refuses a reference to the controller's environment, naming it", async () => {
    const spec = withSecret(everythingStdio('reaches-out'));
    spec.args = ['stdio', '--db', '$(DATABASE_URL)'];
    spec.env.CACHE = '$(REDIS_URL)';
    const check = runtime.check(spec);
    assert.equal(check.ok, false);
    assert.match(
      (check as { reason: string }).reason,
      /refers to \$\((REDIS_URL|DATABASE_URL)\) \(and others: .*\), which is not one of the server's variables/,
    );
    await assert.rejects(runtime.start(spec), /not one of the server's variables/);
  });
});
