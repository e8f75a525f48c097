// Runs the Pulumi program under mocks (prod stack config: EKS, RDS, ElastiCache, baking) with
// 1,000 generated servers and prints JSON: how long the program takes to register everything.
// Target: under 60 s. Usage: node bench/infra-scale.ts [servers]
import { performance } from 'node:perf_hooks';
import { readStackFile } from '../infra/render.ts';
import { runStack } from '../test/infra/harness.ts';
import { workload } from '../test/infra/fixtures.ts';
import type { WorkloadSpec } from '../registry/catalog/spec.ts';

const count = Number(process.argv[2] ?? 1000);
const specs: WorkloadSpec[] = Array.from({ length: count }, (_, i) => {
  const slug = `bench-server-${String(i).padStart(4, '0')}`;
  // A realistic mix: stdio packages, HTTP packages, OCI images, a per-arch pinned one.
  if (i % 4 === 1)
    return workload({
      slug,
      transport: { type: 'streamable-http', port: 8080, path: '/mcp', portVariable: 'PORT' },
    });
  if (i % 4 === 2)
    return workload({
      slug,
      artifacts: {
        amd64: { type: 'image', image: `ghcr.io/example/${slug}:1.0.0` },
        arm64: { type: 'image', image: `ghcr.io/example/${slug}:1.0.0` },
      },
      command: [],
      args: ['--http'],
      transport: { type: 'streamable-http', port: 3000, path: '/mcp' },
      egress: [{ host: 'api.example.com', ports: [443] }],
    });
  if (i % 4 === 3)
    return workload({
      slug,
      nodeArch: 'arm64',
      scaling: { minReplicas: 1, maxReplicas: 3, idleTimeoutMs: 60_000, sessionsPerReplica: 10 },
    });
  return workload({ slug });
});

const prod = readStackFile('prod');
// Every generated package is baked: the lifecycle policy must keep at least that many images.
const config = { ...prod, images: { ...prod.images, keepImages: count } };
const started = performance.now();
const run = await runStack({ stack: 'prod', inputs: { config, specs } });
const seconds = (performance.now() - started) / 1000;
const byType = (type: string) => run.resources.filter((r) => r.type === type).length;
console.log(
  JSON.stringify({
    servers: count,
    resources: run.resources.length,
    deployments: byType('kubernetes:apps/v1:Deployment'),
    networkPolicies: byType('kubernetes:networking.k8s.io/v1:NetworkPolicy'),
    bakedImages: byType('docker-build:index:Image'),
    registryConfigMaps: byType('kubernetes:core/v1:ConfigMap'),
    seconds: Number(seconds.toFixed(2)),
    targetSeconds: 60,
    withinTarget: seconds < 60,
    peakRssMiB: Math.round(process.memoryUsage().rss / 1024 / 1024),
    node: process.version,
  }),
);
