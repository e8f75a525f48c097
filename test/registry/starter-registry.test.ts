import assert from 'node:assert/strict';
import {
  loadRegistry,
  type ServerSpec,
  type WorkloadSpec,
  type RemoteSpec,
} from '../../registry/catalog/index.ts';

describe('the starter registry', () => {
  let specs: ServerSpec[];
  before(async () => {
    const result = await loadRegistry('registry/servers');
    assert.deepEqual(result.problems, []);
    specs = result.specs;
  });
  const workload = (slug: string) => {
    const spec = specs.find((s) => s.slug === slug);
    assert.ok(spec && spec.kind === 'workload', `${slug} is a workload`);
    return spec as WorkloadSpec;
  };

  it('compiles every server, one spec per directory, sorted by slug', () => {
    assert.deepEqual(
      specs.map((s) => s.slug),
      [
        'deepwiki',
        'everything',
        'everything-http',
        'fetch',
        'filesystem',
        'github',
        'memory',
        'shebe',
      ],
    );
  });

  it('runs npm stdio servers through npx locally, with the package pinned', () => {
    const everything = workload('everything');
    assert.deepEqual(everything.transport, { type: 'stdio' });
    assert.deepEqual(everything.command, [
      'npx',
      '--yes',
      '@modelcontextprotocol/server-everything@2026.8.31',
    ]);
    assert.deepEqual(everything.args, ['stdio']);
    assert.equal(everything.local.runnable, true);
    if (everything.local.runnable) {
      assert.deepEqual(everything.local.npmPackage, {
        name: '@modelcontextprotocol/server-everything',
        version: '2026.8.31',
      });
    }
  });

  it('resolves repeated positional arguments from inputs (filesystem)', () => {
    assert.deepEqual(workload('filesystem').args, ['/tmp']);
  });

  it('gives HTTP servers a port variable the runtime can set', () => {
    const http = workload('everything-http');
    assert.deepEqual(http.transport, {
      type: 'streamable-http',
      port: 8080,
      path: '/mcp',
      portVariable: 'PORT',
    });
    assert.equal(http.env.PORT, '8080');
  });

  it('runs PyPI servers through uvx with named arguments', () => {
    const fetch = workload('fetch');
    assert.deepEqual(fetch.command, ['uvx', 'mcp-server-fetch==2025.4.7']);
    assert.deepEqual(fetch.args, ['--user-agent', 'mcpfleet-fetch/1.0 (+https://mcpfleet.dev)']);
    assert.deepEqual(fetch.local.runnable ? fetch.local.requires : [], ['uvx']);
  });

  it('feeds secrets from Kubernetes Secrets, never inline (github)', () => {
    const github = workload('github');
    assert.deepEqual(github.artifacts.amd64, {
      type: 'image',
      image: 'ghcr.io/github/github-mcp-server:0.32.0',
    });
    assert.deepEqual(github.secretEnv, [
      { env: 'GITHUB_PERSONAL_ACCESS_TOKEN', secretName: 'github-mcp', key: 'token' },
    ]);
    assert.equal(github.env.GITHUB_PERSONAL_ACCESS_TOKEN, undefined);
    assert.equal(github.scaling.minReplicas, 1);
    assert.equal(github.local.runnable, false);
  });

  it('selects an mcpb bundle and its own sha256 per architecture (shebe)', () => {
    const shebe = workload('shebe');
    const amd = shebe.artifacts.amd64;
    const arm = shebe.artifacts.arm64;
    assert.ok(amd?.type === 'mcpb' && arm?.type === 'mcpb');
    assert.match(amd.url, /x86_64/);
    assert.match(arm.url, /aarch64/);
    assert.notEqual(amd.sha256, arm.sha256);
    assert.equal(shebe.nodeArch, undefined, 'both architectures are covered');
  });

  it('compiles a remote to a proxied upstream with no workload (deepwiki)', () => {
    const remote = specs.find((s) => s.slug === 'deepwiki') as RemoteSpec;
    assert.equal(remote.kind, 'remote');
    assert.equal(remote.upstream.url, 'https://mcp.deepwiki.com/mcp');
    assert.deepEqual(remote.egress, [{ host: 'mcp.deepwiki.com', ports: [443] }]);
    assert.equal('command' in remote, false);
  });

  it('applies defaults where settings are silent', () => {
    const memory = workload('memory');
    assert.equal(memory.scaling.idleTimeoutMs, 15 * 60_000);
    assert.equal(memory.scaling.maxReplicas, 1, 'set: a server with storage runs one replica');
    assert.equal(memory.scaling.sessionsPerReplica, 100);
    assert.deepEqual(memory.resources.requests, { cpu: '50m', memory: '128Mi' });
    assert.equal(memory.health.failureThreshold, 3);
  });

  it('has at least two servers the local runtime can run with no network', () => {
    const local = specs.filter(
      (s) => s.kind === 'workload' && s.local.runnable && s.local.npmPackage,
    );
    assert.ok(local.length >= 2, `${local.length} locally runnable npm servers`);
  });
});
