// Hand-built ServerSpecs for fleet tests: real server-everything (stdio and HTTP) and the
// failure-mode fixtures, with health/scaling settings small enough for fast tests.
import type { Health, RemoteSpec, Scaling, WorkloadSpec } from '../../../registry/catalog/spec.ts';
import {
  FIXTURE_HTTP_SERVER,
  FIXTURE_SERVER,
  HOSTILE_SERVER,
  MODERN_SERVER,
  SESSION_STATE_SERVER,
} from '../support/processes.ts';

const EVERYTHING = { name: '@modelcontextprotocol/server-everything', version: '2026.8.31' };

interface Overrides {
  scaling?: Partial<Scaling>;
  health?: Partial<Health>;
  env?: Record<string, string>;
  resume?: boolean;
  warmSpare?: boolean;
}

function base(slug: string, o: Overrides): Omit<WorkloadSpec, 'transport' | 'local' | 'args'> {
  return {
    apiVersion: 'mcpfleet.dev/v1',
    kind: 'workload',
    slug,
    name: `io.example/${slug}`,
    title: slug,
    description: `test server ${slug}`,
    version: '1.0.0',
    source: `${slug}/server.json`,
    scaling: {
      minReplicas: 0,
      maxReplicas: 1,
      idleTimeoutMs: 60_000,
      sessionsPerReplica: 100,
      ...o.scaling,
    },
    health: {
      intervalMs: 30_000,
      timeoutMs: 2000,
      failureThreshold: 3,
      startupTimeoutMs: 10_000,
      ...o.health,
    },
    sessions: { resume: o.resume ?? true },
    warmSpare: o.warmSpare ?? true,
    meta: {},
    packageIndex: { amd64: 0 },
    artifacts: {},
    command: [],
    env: o.env ?? {},
    secretEnv: [],
    resources: { requests: {}, limits: {} },
    egress: [],
  };
}

/** server-everything over stdio, run from node_modules (as the registry's `everything`). */
export function everythingStdio(slug = 'everything', o: Overrides = {}): WorkloadSpec {
  return {
    ...base(slug, o),
    transport: { type: 'stdio' },
    args: ['stdio'],
    local: {
      runnable: true,
      command: 'npx',
      args: ['--yes', `${EVERYTHING.name}@${EVERYTHING.version}`, 'stdio'],
      npmPackage: EVERYTHING,
      requires: ['npx'],
    },
  };
}

/** server-everything in its own Streamable HTTP mode on an allocated port. */
export function everythingHttp(slug = 'everything-http', o: Overrides = {}): WorkloadSpec {
  return {
    ...base(slug, { ...o, env: { PORT: '8080', ...o.env } }),
    transport: { type: 'streamable-http', port: 8080, path: '/mcp', portVariable: 'PORT' },
    args: ['streamableHttp'],
    local: {
      runnable: true,
      command: 'npx',
      args: ['--yes', `${EVERYTHING.name}@${EVERYTHING.version}`, 'streamableHttp'],
      npmPackage: EVERYTHING,
      requires: ['npx'],
    },
  };
}

/** The stdio fixture (test/fixtures/stdio-server.ts) in `mode`. */
export function stdioFixture(slug: string, mode: string, o: Overrides = {}): WorkloadSpec {
  return {
    ...base(slug, { ...o, env: { FIXTURE_MODE: mode, ...o.env } }),
    transport: { type: 'stdio' },
    args: [],
    local: { runnable: true, command: process.execPath, args: [FIXTURE_SERVER], requires: [] },
  };
}

/** The HTTP fixture (test/fixtures/http-server.ts) in `mode`. */
export function httpFixture(slug: string, mode: string, o: Overrides = {}): WorkloadSpec {
  return {
    ...base(slug, { ...o, env: { FIXTURE_MODE: mode, ...o.env } }),
    transport: { type: 'streamable-http', port: 8080, path: '/mcp', portVariable: 'PORT' },
    args: [],
    local: { runnable: true, command: process.execPath, args: [FIXTURE_HTTP_SERVER], requires: [] },
  };
}

/** The SDK server that reports what its session was set up with (session-state-server.ts). */
export function sessionStateServer(slug: string, o: Overrides = {}): WorkloadSpec {
  return {
    ...base(slug, o),
    transport: { type: 'stdio' },
    args: [],
    local: {
      runnable: true,
      command: process.execPath,
      args: [SESSION_STATE_SERVER],
      requires: [],
    },
  };
}

/**
 * The SDK v2 server of revision 2026-07-28 (modern-server.ts); `modernOnly` refuses 2025
 * clients as a strict modern deployment does.
 */
export function modernServer(slug: string, modernOnly: boolean, o: Overrides = {}): WorkloadSpec {
  return {
    ...base(slug, { ...o, env: { MODERN_ONLY: modernOnly ? '1' : '0', ...o.env } }),
    transport: { type: 'streamable-http', port: 8080, path: '/mcp', portVariable: 'PORT' },
    args: [],
    local: { runnable: true, command: process.execPath, args: [MODERN_SERVER], requires: [] },
  };
}

/** A remote server at `url` (nothing runs locally; the gateway proxies to it). */
export function remoteAt(slug: string, url: string, o: Overrides = {}): RemoteSpec {
  const { kind: _kind, ...common } = base(slug, o);
  return {
    apiVersion: common.apiVersion,
    slug: common.slug,
    name: common.name,
    title: common.title,
    description: common.description,
    version: common.version,
    source: common.source,
    scaling: common.scaling,
    health: common.health,
    sessions: common.sessions,
    meta: common.meta,
    kind: 'remote',
    upstream: { type: 'streamable-http', url, headers: {}, secretHeaders: [] },
    egress: [],
  };
}

/** The hostile server (test/fixtures/hostile-server.ts) over stdio with `habits` (HOSTILE). */
export function hostileStdio(slug: string, habits: string, o: Overrides = {}): WorkloadSpec {
  return {
    ...base(slug, { ...o, env: { HOSTILE: habits, ...o.env } }),
    transport: { type: 'stdio' },
    args: [],
    local: { runnable: true, command: process.execPath, args: [HOSTILE_SERVER], requires: [] },
  };
}
