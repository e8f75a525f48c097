// Benchmark: check + compile 10,000 generated server.json files (target: under 3 s).
// Prints JSON. Usage: node bench/registry-compile.ts [count]
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadRegistry } from '../registry/catalog/index.ts';

const count = Number(process.argv[2] ?? 10_000);
const SCHEMA = 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json';

/** A realistic mix: npm stdio with arguments, PyPI, OCI with a bound secret, a remote. */
function generated(i: number): Record<string, unknown> {
  const base = {
    $schema: SCHEMA,
    name: `io.github.bench/server-${i}`,
    description: `Generated server number ${i} for the registry benchmark`,
    version: `1.${i % 100}.0`,
  };
  switch (i % 4) {
    case 0:
      return {
        ...base,
        packages: [
          {
            registryType: 'npm',
            identifier: `@bench/server-${i}`,
            version: '1.0.0',
            transport: { type: 'stdio' },
            packageArguments: [
              { type: 'positional', valueHint: 'directory', isRequired: true, isRepeated: true },
              { type: 'named', name: '--mode', choices: ['read', 'write'], default: 'read' },
            ],
          },
        ],
        _meta: {
          'dev.mcpfleet/v1': {
            inputs: { directory: ['/tmp', '/data'] },
            scaling: { minReplicas: 0, maxReplicas: 4, idleTimeout: '10m' },
          },
        },
      };
    case 1:
      return {
        ...base,
        packages: [
          {
            registryType: 'pypi',
            identifier: `bench-server-${i}`,
            version: '2.0.1',
            transport: { type: 'stdio' },
          },
        ],
      };
    case 2:
      return {
        ...base,
        packages: [
          {
            registryType: 'oci',
            identifier: `ghcr.io/bench/server-${i}:1.0.0`,
            transport: { type: 'streamable-http', url: 'http://localhost:{PORT}/mcp' },
            environmentVariables: [
              { name: 'PORT', default: '3000' },
              { name: 'API_TOKEN', isSecret: true, isRequired: true },
            ],
          },
        ],
        _meta: {
          'dev.mcpfleet/v1': {
            arch: 'amd64',
            secrets: { API_TOKEN: { secret: `server-${i}`, key: 'token' } },
            egress: [{ host: 'api.example.com', ports: [443] }],
          },
        },
      };
    default:
      return {
        ...base,
        remotes: [{ type: 'streamable-http', url: `https://mcp${i}.example.com/mcp` }],
      };
  }
}

const root = await mkdtemp(path.join(tmpdir(), 'mcpfleet-bench-registry-'));
try {
  const dir = path.join(root, 'servers');
  for (let i = 0; i < count; i++) {
    const slug = `server-${i}`;
    await mkdir(path.join(dir, slug), { recursive: true });
    await writeFile(path.join(dir, slug, 'server.json'), JSON.stringify(generated(i), null, 2));
  }
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 5);
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const result = await loadRegistry(dir);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
  if (result.problems.length || result.specs.length !== count) {
    throw new Error(
      `expected ${count} valid specs, got ${result.specs.length} and ${result.problems.length} problems`,
    );
  }
  console.log(
    JSON.stringify(
      {
        benchmark: 'registry-compile',
        files: count,
        specs: result.specs.length,
        seconds: Number(seconds.toFixed(3)),
        filesPerSecond: Math.round(count / seconds),
        peakRssMiB: Number((peakRss / 1024 / 1024).toFixed(1)),
        rssBeforeMiB: Number((rssBefore / 1024 / 1024).toFixed(1)),
        targetSeconds: 3,
        pass: seconds < 3,
        node: process.version,
      },
      null,
      2,
    ),
  );
} finally {
  await rm(root, { recursive: true, force: true });
}
