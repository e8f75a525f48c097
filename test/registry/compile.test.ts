// Compiler semantics: how arguments, variables, secrets, architectures and remotes resolve.
import assert from 'node:assert/strict';
import {
  checkServerJson,
  type RemoteSpec,
  type WorkloadSpec,
} from '../../registry/catalog/index.ts';
import { serverJson, withSettings } from './temp-registry.ts';

function compile(doc: Record<string, unknown>) {
  const result = checkServerJson(Buffer.from(JSON.stringify(doc)), 'demo/server.json', 'demo');
  assert.deepEqual(result.problems, []);
  return result.spec as WorkloadSpec | RemoteSpec;
}
const workload = (doc: Record<string, unknown>) => compile(doc) as WorkloadSpec;
const npmPackage = (extra: Record<string, unknown>) => ({
  registryType: 'npm',
  identifier: '@example/demo',
  version: '1.0.0',
  transport: { type: 'stdio' },
  ...extra,
});

describe('registry compiler', () => {
  it('resolves positional, named, repeated and {variable} arguments in order', () => {
    const spec = workload(
      withSettings(
        { inputs: { directory: ['/a', '/b'], 'log-level': 'debug', region: 'eu-west-1' } },
        serverJson({
          packages: [
            npmPackage({
              runtimeArguments: [{ type: 'named', name: '--cache', value: '/tmp/npm-cache' }],
              packageArguments: [
                { type: 'positional', value: 'serve' },
                { type: 'named', name: '--log-level' },
                { type: 'positional', valueHint: 'directory', isRepeated: true },
                {
                  type: 'named',
                  name: '--endpoint',
                  value: 'https://{region}.example.com',
                  variables: { region: { default: 'us-east-1' } },
                },
                { type: 'named', name: '--optional-flag' },
              ],
            }),
          ],
        }),
      ),
    );
    assert.deepEqual(spec.command, [
      'npx',
      '--cache',
      '/tmp/npm-cache',
      '--yes',
      '@example/demo@1.0.0',
    ]);
    assert.deepEqual(spec.args, [
      'serve',
      '--log-level',
      'debug',
      '/a',
      '/b',
      '--endpoint',
      'https://eu-west-1.example.com',
    ]);
  });

  it('uses a variable default when no input is given', () => {
    const spec = workload(
      serverJson({
        packages: [
          npmPackage({
            packageArguments: [
              {
                type: 'positional',
                value: '--url={base}/v1',
                variables: { base: { default: 'https://api.example.com' } },
              },
            ],
          }),
        ],
      }),
    );
    assert.deepEqual(spec.args, ['--url=https://api.example.com/v1']);
  });

  it('turns secret arguments into $(ENV) references bound to Secret keys', () => {
    const spec = workload(
      withSettings(
        { secrets: { token: { secret: 'demo-creds', key: 'api-token' } } },
        serverJson({
          packages: [
            npmPackage({ packageArguments: [{ type: 'named', name: '--token', isSecret: true }] }),
          ],
        }),
      ),
    );
    assert.deepEqual(spec.args, ['--token', '$(MCPFLEET_SECRET_TOKEN)']);
    assert.deepEqual(spec.secretEnv, [
      { env: 'MCPFLEET_SECRET_TOKEN', secretName: 'demo-creds', key: 'api-token' },
    ]);
  });

  it('refuses a choice outside the allowed values', () => {
    const doc = withSettings(
      { inputs: { mode: 'chaos' } },
      serverJson({
        packages: [
          npmPackage({
            packageArguments: [{ type: 'named', name: '--mode', choices: ['read', 'write'] }],
          }),
        ],
      }),
    );
    const result = checkServerJson(Buffer.from(JSON.stringify(doc)), 'f', 'demo');
    assert.match(
      result.problems[0]?.message ?? '',
      /"chaos" is not one of the allowed values: read, write/,
    );
  });

  it('pins a single-architecture artifact to its node architecture', () => {
    const spec = workload(withSettings({ arch: 'arm64' }));
    assert.equal(spec.nodeArch, 'arm64');
    assert.deepEqual(Object.keys(spec.artifacts), ['arm64']);
  });

  it('infers the architecture of a single mcpb bundle from its URL', () => {
    const spec = workload(
      serverJson({
        packages: [
          {
            registryType: 'mcpb',
            identifier: 'https://example.com/tool-linux-arm64.mcpb',
            fileSha256: 'a'.repeat(64),
            transport: { type: 'stdio' },
          },
        ],
      }),
    );
    assert.equal(spec.nodeArch, 'arm64');
    assert.deepEqual(spec.artifacts.arm64, {
      type: 'mcpb',
      url: 'https://example.com/tool-linux-arm64.mcpb',
      sha256: 'a'.repeat(64),
      runner: 'node',
    });
  });

  it('deploys the package chosen by identifier when several are listed', () => {
    const spec = workload(
      withSettings(
        { package: 'ghcr.io/example/demo' },
        serverJson({
          packages: [
            npmPackage({}),
            {
              registryType: 'oci',
              identifier: 'ghcr.io/example/demo',
              version: '1.0.0',
              transport: { type: 'stdio' },
            },
          ],
        }),
      ),
    );
    assert.deepEqual(spec.packageIndex, { amd64: 1, arm64: 1 });
    assert.deepEqual(spec.artifacts.amd64, { type: 'image', image: 'ghcr.io/example/demo:1.0.0' });
    assert.deepEqual(spec.command, []);
  });

  it('resolves remote URL variables and keeps secret headers as Secret refs', () => {
    const spec = compile(
      withSettings(
        {
          inputs: { tenant: 'acme' },
          secrets: { Authorization: { secret: 'remote-auth', key: 'header' } },
        },
        serverJson({
          packages: undefined,
          remotes: [
            {
              type: 'streamable-http',
              url: 'https://{tenant}.mcp.example.com/mcp',
              variables: { tenant: { isRequired: true } },
              headers: [
                { name: 'Authorization', isSecret: true, isRequired: true },
                { name: 'X-Client', value: 'mcpfleet' },
              ],
            },
          ],
        }),
      ),
    ) as RemoteSpec;
    assert.equal(spec.kind, 'remote');
    assert.equal(spec.upstream.url, 'https://acme.mcp.example.com/mcp');
    assert.deepEqual(spec.upstream.headers, { 'X-Client': 'mcpfleet' });
    assert.deepEqual(spec.upstream.secretHeaders, [
      { env: 'Authorization', secretName: 'remote-auth', key: 'header' },
    ]);
  });

  it('keeps unknown _meta keys verbatim', () => {
    const doc = {
      ...serverJson(),
      _meta: {
        'io.modelcontextprotocol.registry/publisher-provided': {
          tool: 'publisher-cli',
          nested: { a: [1, 2] },
        },
        'dev.mcpfleet/v1': { scaling: { minReplicas: 1 } },
      },
    };
    const spec = workload(doc);
    assert.deepEqual(spec.meta, {
      'io.modelcontextprotocol.registry/publisher-provided': {
        tool: 'publisher-cli',
        nested: { a: [1, 2] },
      },
    });
    assert.equal(spec.scaling.minReplicas, 1);
  });

  it('carries the access block to the spec as written, and leaves it out when absent', () => {
    const access = {
      groups: ['platform team'],
      scopes: ['github:write'],
      keys: ['ci-bot*'],
      tools: { allow: ['get_*', 'search'], deny: ['get_secret'] },
    };
    assert.deepEqual(workload(withSettings({ access })).access, access);
    assert.equal('access' in workload(serverJson()), false, 'no block: open, nothing to carry');
  });

  it("sets an HTTP server's URL variables in its environment, unless an argument takes them", () => {
    const http = (extra: Record<string, unknown>) =>
      withSettings(
        { port: 9000 },
        serverJson({
          packages: [
            npmPackage({
              transport: { type: 'streamable-http', url: 'http://{HOST}:{PORT}/mcp' },
              ...extra,
            }),
          ],
        }),
      );
    const spec = workload(http({}));
    assert.deepEqual(spec.transport, {
      type: 'streamable-http',
      port: 9000,
      path: '/mcp',
      portVariable: 'PORT',
      hostVariable: 'HOST',
    });
    assert.deepEqual(spec.env, { PORT: '9000', HOST: '0.0.0.0' });

    const byArgument = workload(http({ packageArguments: [{ type: 'named', name: '--PORT' }] }));
    assert.deepEqual(byArgument.args, ['--PORT', '9000']);
    assert.deepEqual(byArgument.env, { HOST: '0.0.0.0' });
  });

  it('refuses a document with nothing to deploy', () => {
    const { packages: _packages, ...rest } = serverJson();
    const result = checkServerJson(Buffer.from(JSON.stringify(rest)), 'f', 'demo');
    assert.match(result.problems[0]?.message ?? '', /nothing to deploy/);
  });
});
