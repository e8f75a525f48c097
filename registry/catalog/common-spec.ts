// The part of a ServerSpec every kind of server shares (a workload's, a remote's): who it
// is, where it came from, and the platform's settings for scaling, health and sessions, with
// the defaults filled in. The rest of server.json's _meta passes through untouched.
import { parseDuration } from './duration.ts';
import type { ServerJson } from './official-schema.ts';
import { DEFAULTS, PLATFORM_META_KEY, type PlatformSettings } from './platform-schema.ts';
import {
  SPEC_API_VERSION,
  type Health,
  type Scaling,
  type Sessions,
  type WorkloadSpec,
} from './spec.ts';

export type CommonSpec = Omit<
  WorkloadSpec,
  | 'kind'
  | 'packageIndex'
  | 'artifacts'
  | 'nodeArch'
  | 'command'
  | 'args'
  | 'env'
  | 'secretEnv'
  | 'transport'
  | 'warmSpare'
  | 'resources'
  | 'egress'
  | 'local'
>;

export function commonSpecOf(
  document: ServerJson,
  settings: PlatformSettings,
  file: string,
  slug: string,
): CommonSpec {
  const meta = Object.fromEntries(
    Object.entries(document._meta ?? {}).filter(([key]) => key !== PLATFORM_META_KEY),
  );
  return {
    apiVersion: SPEC_API_VERSION,
    slug,
    name: document.name,
    title: document.title ?? document.name.slice(document.name.indexOf('/') + 1),
    description: document.description,
    version: document.version,
    source: file,
    scaling: scalingOf(settings),
    health: healthOf(settings),
    sessions: sessionsOf(settings),
    meta,
    ...(settings.access !== undefined ? { access: settings.access } : {}),
  };
}

function scalingOf(settings: PlatformSettings): Scaling {
  const s = settings.scaling ?? {};
  return {
    minReplicas: s.minReplicas ?? DEFAULTS.minReplicas,
    // The schema already refused minReplicas > maxReplicas (with the default max).
    maxReplicas: s.maxReplicas ?? DEFAULTS.maxReplicas,
    idleTimeoutMs: parseDuration(s.idleTimeout ?? DEFAULTS.idleTimeout),
    sessionsPerReplica: s.sessionsPerReplica ?? DEFAULTS.sessionsPerReplica,
  };
}

function sessionsOf(settings: PlatformSettings): Sessions {
  const s = settings.sessions ?? {};
  return {
    resume: s.resume ?? DEFAULTS.sessionResume,
    // Left out when not set: the controller applies the defaults (sessions/session-limits.ts).
    ...(s.maxPerClient !== undefined ? { maxPerClient: s.maxPerClient } : {}),
    ...(s.idleTimeout !== undefined ? { idleTimeoutMs: parseDuration(s.idleTimeout) } : {}),
  };
}

function healthOf(settings: PlatformSettings): Health {
  const h = settings.health ?? {};
  return {
    intervalMs: parseDuration(h.interval ?? DEFAULTS.healthInterval),
    timeoutMs: parseDuration(h.timeout ?? DEFAULTS.healthTimeout),
    failureThreshold: h.failureThreshold ?? DEFAULTS.failureThreshold,
    startupTimeoutMs: parseDuration(h.startupTimeout ?? DEFAULTS.startupTimeout),
  };
}
