// The real starter registry, plus a few hand-built specs for cases it does not cover.
import type { WorkloadSpec } from '../../registry/catalog/spec.ts';
import { loadSpecs } from '../../infra/registry.ts';

export const starterSpecs = () => loadSpecs('registry/servers');

export function workload(overrides: Partial<WorkloadSpec> & { slug: string }): WorkloadSpec {
  return {
    apiVersion: 'mcpfleet.dev/v1',
    kind: 'workload',
    name: `io.example/${overrides.slug}`,
    title: overrides.slug,
    description: 'fixture',
    version: '1.0.0',
    source: `registry/servers/${overrides.slug}/server.json`,
    scaling: { minReplicas: 0, maxReplicas: 2, idleTimeoutMs: 300_000, sessionsPerReplica: 50 },
    health: { intervalMs: 30_000, timeoutMs: 5_000, failureThreshold: 3, startupTimeoutMs: 60_000 },
    sessions: { resume: true },
    warmSpare: true,
    meta: {},
    packageIndex: { amd64: 0 },
    artifacts: {
      amd64: {
        type: 'package',
        runner: 'node',
        registryType: 'npm',
        identifier: `@example/${overrides.slug}`,
        version: '1.0.0',
      },
      arm64: {
        type: 'package',
        runner: 'node',
        registryType: 'npm',
        identifier: `@example/${overrides.slug}`,
        version: '1.0.0',
      },
    },
    command: ['npx', '--yes', `@example/${overrides.slug}@1.0.0`],
    args: [],
    env: {},
    secretEnv: [],
    transport: { type: 'stdio' },
    resources: {
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { cpu: '500m', memory: '256Mi' },
    },
    egress: [],
    local: { runnable: false, reason: 'fixture' },
    ...overrides,
  };
}
