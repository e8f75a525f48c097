// The pure pieces: config validation (errors name the key), server manifests for the cases the
// starter registry exercises, and `registry render`.
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../infra/config.ts';
import { readStackFile, renderStack } from '../../infra/render.ts';
import { serverManifests } from '../../infra/manifests/server.ts';
import { registryConfigMaps } from '../../infra/manifests/platform.ts';
import type { WorkloadSpec } from '../../registry/catalog/spec.ts';
import { starterSpecs, workload } from './fixtures.ts';
import { validateKubernetesObject } from './validate.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
const prod = () => readStackFile('prod');
const raw = (mutate: (config: any) => void) => {
  const config = structuredClone(prod()) as any;
  mutate(config);
  return () => parseConfig(config);
};

describe('infra config', () => {
  it('accepts the real Pulumi.local.yaml, Pulumi.dev.yaml and Pulumi.prod.yaml', () => {
    assert.equal(readStackFile('local').cluster.mode, 'existing');
    assert.equal(readStackFile('dev').cluster.mode, 'eks');
    assert.equal(prod().cluster.mode, 'eks');
  });

  it('names the key for every mistake', () => {
    assert.throws(
      raw((c) => (c.nodeGroups.arm64.desiredSize = 0)),
      /mcpfleet:nodeGroups\.arm64\.desiredSize: expected a positive integer/,
    );
    assert.throws(
      raw((c) => (c.nodeGroups.amd64.maxSize = '10')),
      /mcpfleet:nodeGroups\.amd64\.maxSize: expected a positive integer/,
    );
    assert.throws(
      raw((c) => (c.nodeGroups.amd64.desiredSize = 20)),
      /mcpfleet:nodeGroups\.amd64\.desiredSize: expected a value between minSize \(2\) and maxSize \(10\)/,
    );
    assert.throws(
      raw((c) => (c.dataStores.mode = 'rds')),
      /mcpfleet:dataStores\.mode: expected mode "aws" or "in-cluster"/,
    );
    assert.throws(
      raw((c) => (c.controller.replica = 2)),
      /mcpfleet:controller: unknown key\(s\) replica/,
    );
    assert.throws(
      raw((c) => delete c.network),
      /mcpfleet:network: required when cluster\.mode is "eks"/,
    );
    assert.throws(
      raw((c) => delete c.images.repository),
      /mcpfleet:images\.repository: required when images\.packages is "bake"/,
    );
    assert.throws(
      raw((c) => (c.ingress.host = 'not a host')),
      /mcpfleet:ingress\.host: expected a DNS name/,
    );
  });

  it('rejects an unknown stack in render with the valid choices', async () => {
    await assert.rejects(
      renderStack('staging'),
      /unknown stack "staging": expected one of local, dev, prod/,
    );
  });
});

describe('server manifests', () => {
  let specs: WorkloadSpec[];
  before(async () => {
    specs = (await starterSpecs()).filter((s): s is WorkloadSpec => s.kind === 'workload');
  });
  const build = (slug: string, stack = 'prod') => {
    const config = readStackFile(stack);
    return serverManifests(
      specs.find((s) => s.slug === slug)!,
      { namespace: config.namespace, images: config.images },
    );
  };

  it('runs a Streamable HTTP server directly with its port variable, no bridge', () => {
    const container = build('everything-http').deployment.spec!.template.spec!.containers[0]!;
    assert.equal(container.command?.[0], 'npx');
    assert.deepEqual(
      container.env!.filter((e) => e.name === 'PORT'),
      [{ name: 'PORT', value: '8080' }],
    );
    assert.equal(container.ports![0]!.containerPort, 8080);
    assert.equal(container.workingDir, '/srv/mcp', 'baked package resolves from the image');
  });

  it('fetches and sha256-verifies an mcpb bundle per architecture in an init container, then launches it', () => {
    const pod = build('shebe').deployment.spec!.template.spec!;
    const init = pod.initContainers![0]!;
    const env = Object.fromEntries(init.env!.map((e) => [e.name, e.value]));
    const shebe = specs.find((s) => s.slug === 'shebe')!;
    for (const arch of ['amd64', 'arm64'] as const) {
      const artifact = shebe.artifacts[arch] as { url: string; sha256: string };
      assert.equal(env[`BUNDLE_URL_${arch.toUpperCase()}`], artifact.url);
      assert.equal(env[`BUNDLE_SHA256_${arch.toUpperCase()}`], artifact.sha256);
    }
    assert.match(env.FETCH_AND_VERIFY!, /sha256 mismatch[\s\S]*process\.exit\(1\)/);
    assert.deepEqual(pod.containers[0]!.command!.slice(0, 7), [
      'mcpfleet',
      'bridge',
      '--host',
      '0.0.0.0',
      '--port',
      '8080',
      '--',
    ]);
    assert.deepEqual(pod.containers[0]!.command!.slice(7), [
      'sh',
      '/bundle/app/.mcpfleet-launch.sh',
    ]);
    assert.ok(
      pod.containers[0]!.volumeMounts!.some((m) => m.mountPath === '/bundle' && m.readOnly),
    );
    assert.equal(
      pod.nodeSelector!['kubernetes.io/arch'],
      undefined,
      'per-arch bundles stay multi-arch',
    );
  });

  it('bridges a stdio OCI image from an image volume: nothing copied, its entrypoint from the mount', () => {
    const pod = build('github').deployment.spec!.template.spec!;
    const container = pod.containers[0]!;
    assert.equal(pod.initContainers, undefined, 'no init container copies anything');
    assert.match(
      container.image!,
      /mcpfleet-runner-node/,
      'the runner image brings Node and the bridge',
    );
    assert.deepEqual(container.command, [
      'mcpfleet',
      'bridge',
      '--host',
      '0.0.0.0',
      '--port',
      '8080',
      '--',
    ]);
    assert.deepEqual(container.args, ['/srv/image/server/github-mcp-server', 'stdio']);
    assert.equal(container.workingDir, '/srv/image/server');
    const volume = pod.volumes!.find((v) => v.name === 'server-image');
    assert.deepEqual(volume?.image, {
      reference: 'ghcr.io/github/github-mcp-server:0.32.0',
      pullPolicy: 'IfNotPresent',
    });
    assert.deepEqual(
      container.volumeMounts!.find((m) => m.name === 'server-image'),
      { name: 'server-image', mountPath: '/srv/image', readOnly: true },
    );
    const config = prod();
    const images = { ...config.images, entrypoints: {} };
    assert.throws(
      () =>
        serverManifests(
          specs.find((s) => s.slug === 'github')!,
          { namespace: 'x', images },
        ),
      /mcpfleet:images\.entrypoints: server github runs the stdio image/,
    );
    const relative = {
      ...config.images,
      entrypoints: { 'ghcr.io/github/github-mcp-server': ['github-mcp-server'] },
    };
    assert.throws(
      () =>
        serverManifests(
          specs.find((s) => s.slug === 'github')!,
          { namespace: 'x', images: relative },
        ),
      /must be an absolute path inside the image/,
    );
  });

  it('pins single-arch servers with kubernetes.io/arch and allows only DNS + the allowlist out', () => {
    const config = prod();
    const spec = workload({
      slug: 'arm-only',
      nodeArch: 'arm64',
      egress: [
        { host: 'api.example.com', ports: [443] },
        { cidr: '10.1.0.0/16', ports: [5432] },
      ],
    });
    const { deployment, networkPolicy } = serverManifests(spec, {
      namespace: 'x',
      images: config.images,
    });
    assert.equal(deployment.spec!.template.spec!.nodeSelector!['kubernetes.io/arch'], 'arm64');
    const egress = networkPolicy.spec!.egress!;
    assert.equal(egress.length, 3);
    assert.deepEqual(egress[1], {
      to: [{ ipBlock: { cidr: '10.1.0.0/16' } }],
      ports: [{ protocol: 'TCP', port: 5432 }],
    });
    assert.equal(egress[2]!.to![0]!.ipBlock!.cidr, '0.0.0.0/0');
    assert.ok(
      egress[2]!.to![0]!.ipBlock!.except!.includes('169.254.0.0/16'),
      'metadata endpoint stays unreachable',
    );
  });

  it('shards the registry ConfigMap below the 1 MiB limit', () => {
    const many = Array.from({ length: 2000 }, (_, i) => workload({ slug: `s-${i}` }));
    const maps = registryConfigMaps(many, 'x');
    assert.ok(maps.length > 1);
    for (const map of maps) assert.ok(Buffer.byteLength(map.data!['servers.json']!) < 1024 * 1024);
    assert.equal(maps.flatMap((m) => JSON.parse(m.data!['servers.json']!)).length, 2000);
  });

  it('renders valid Kubernetes YAML for every stack (registry render)', async () => {
    for (const stack of ['local', 'dev', 'prod']) {
      const documents = parseAllDocuments(await renderStack(stack)).map((d) => d.toJS());
      assert.ok(documents.length >= 1 + 1 + specs.length * 3);
      for (const object of documents) validateKubernetesObject(object);
      assert.ok(
        !JSON.stringify(documents).includes('secure'),
        'no secret material in render output',
      );
    }
  });
});
