// mcpfleet's own settings, under server.json `_meta["dev.mcpfleet/v1"]`.
// Everything is optional: a plain official server.json deploys with the defaults below.
import { z } from 'zod';
import { AccessSchema } from './access-schema.ts';
import { DURATION_PATTERN, parseDuration } from './duration.ts';
import { isPlaceholder, placeholderMessage } from './placeholder.ts';
import { joinPath } from './read-json.ts';

export const PLATFORM_META_KEY = 'dev.mcpfleet/v1';
/** Where the settings are in a server.json, for the paths of problems. */
export const PLATFORM_META_PATH = joinPath('_meta', PLATFORM_META_KEY);

export const DEFAULTS = {
  minReplicas: 0,
  maxReplicas: 3,
  idleTimeout: '5m',
  sessionsPerReplica: 100,
  healthInterval: '30s',
  healthTimeout: '5s',
  failureThreshold: 3,
  startupTimeout: '60s',
  sessionResume: true,
  /** A session whose client sent nothing but pings for this long is ended. */
  sessionIdleTimeout: '30m',
  /** Sessions one client may hold at once: this share of maxReplicas × sessionsPerReplica. */
  sessionsPerClientShare: 0.25,
  warmSpare: true,
  storageSize: '1Gi',
  port: 8080,
  resources: {
    requests: { cpu: '50m', memory: '128Mi' },
    limits: { cpu: '1', memory: '512Mi' },
  },
} as const;

const MAX_REPLICAS = 100;

/** A duration string within bounds, e.g. "30s", "5m". */
const duration = (min: string, max: string) =>
  z
    .string()
    .regex(DURATION_PATTERN, 'must be a duration like "500ms", "30s", "5m" or "1h"')
    // zod runs every check even after the regex failed, so this one must accept any string.
    .refine((s) => !DURATION_PATTERN.test(s) || withinBounds(parseDuration(s), min, max), {
      message: `must be between ${min} and ${max}`,
    });

function withinBounds(ms: number, min: string, max: string): boolean {
  return ms >= parseDuration(min) && ms <= parseDuration(max);
}

const cpuQuantity = z
  .string()
  .regex(/^([0-9]+m|[0-9]+(\.[0-9]+)?)$/, 'a CPU quantity like "250m" or "1" or "1.5"');
const memoryQuantity = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/, 'a memory quantity like "128Mi" or "1Gi"');

const ResourceListSchema = z.strictObject({
  cpu: cpuQuantity.optional(),
  memory: memoryQuantity.optional(),
});

/** Index into `packages`, or the package identifier. */
const PackageRef = z.union([z.number().int().min(0), z.string().min(1)]);

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HOSTNAME =
  /^(\*\.)?([a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/(\d|[12]\d|3[0-2])$|^[0-9a-fA-F:]+\/\d{1,3}$/;

const EgressRuleSchema = z
  .strictObject({
    host: z.string().regex(HOSTNAME, 'a DNS name like "api.github.com"').optional(),
    cidr: z.string().regex(CIDR, 'a CIDR like "10.0.0.0/16"').optional(),
    ports: z.array(z.number().int().min(1).max(65535)).min(1).default([443]),
  })
  .refine((r) => (r.host === undefined) !== (r.cidr === undefined), {
    message: 'give exactly one of "host" or "cidr"',
  });

/**
 * A string that must not still hold a `registry add` placeholder. Checked first and aborting,
 * so a placeholder gets this one message instead of also failing the format checks after it.
 */
const filled = (fix: string) =>
  z.string().refine((v) => !isPlaceholder(v), {
    abort: true,
    error: (issue) => placeholderMessage(issue.input, fix),
  });

const SecretBindingSchema = z.strictObject({
  secret: filled('write the name of the Kubernetes Secret that holds this value')
    .max(253)
    .regex(DNS1123_SUBDOMAIN, 'a Kubernetes Secret name (lowercase, digits, "-", ".")'),
  key: filled('write the key in that Secret that holds this value')
    .regex(/^[-._a-zA-Z0-9]+$/, 'a Secret key (letters, digits, "-", "_", ".")')
    .max(253),
});

/**
 * An input's value: a string, or a list for a repeated argument. Placeholders are looked for
 * once the union has matched, so a list of placeholders is not reported as "expected string".
 */
const InputValueSchema = z.union([z.string(), z.array(z.string())]).superRefine((value, ctx) => {
  const strings = typeof value === 'string' ? [value] : value;
  strings.forEach((text, i) => {
    if (!isPlaceholder(text)) return;
    ctx.addIssue({
      code: 'custom',
      path: typeof value === 'string' ? [] : [i],
      message: placeholderMessage(
        text,
        'write the value to pass (see its description in server.json)',
      ),
    });
  });
});

export const PlatformSettingsSchema = z
  .strictObject({
    /** Which package to deploy when several are listed; per architecture if the map form. */
    package: z
      .union([
        PackageRef,
        z.strictObject({ amd64: PackageRef.optional(), arm64: PackageRef.optional() }),
      ])
      .optional(),
    /** Which remote to proxy when the server has no packages (default 0). */
    remote: z.number().int().min(0).optional(),
    /** Restrict the architectures it runs on (default: what the artifacts allow). */
    arch: z.enum(['amd64', 'arm64', 'both']).optional(),
    scaling: z
      .strictObject({
        minReplicas: z.number().int().min(0).max(MAX_REPLICAS).optional(),
        maxReplicas: z.number().int().min(1).max(MAX_REPLICAS).optional(),
        idleTimeout: duration('1s', '24h').optional(),
        sessionsPerReplica: z.number().int().min(1).max(100000).optional(),
      })
      .refine(
        (s) => (s.minReplicas ?? DEFAULTS.minReplicas) <= (s.maxReplicas ?? DEFAULTS.maxReplicas),
        {
          path: ['minReplicas'],
          message: 'minReplicas must not exceed maxReplicas',
        },
      )
      .optional(),
    resources: z
      .strictObject({
        requests: ResourceListSchema.optional(),
        limits: ResourceListSchema.optional(),
      })
      .optional(),
    health: z
      .strictObject({
        interval: duration('1s', '1h').optional(),
        timeout: duration('100ms', '5m').optional(),
        failureThreshold: z.number().int().min(1).max(100).optional(),
        startupTimeout: duration('1s', '30m').optional(),
      })
      .optional(),
    /**
     * stdio servers: keep one process started ahead of the next session, so a new session
     * never waits for a process to start (default true). It costs one idle process (its
     * memory) per awake server; false saves it where memory matters more than first answers.
     */
    warmSpare: z.boolean().optional(),
    sessions: z
      .strictObject({
        /**
         * Replay a client's session on a new backend when its own went away (default true);
         * false for servers whose sessions keep state a replay cannot restore.
         */
        resume: z.boolean().optional(),
        /**
         * Sessions one client (one address, or one principal once authentication exists) may
         * hold at once on this server; default a quarter of maxReplicas × sessionsPerReplica.
         */
        maxPerClient: z.number().int().min(1).max(1_000_000).optional(),
        /**
         * A session whose client sent nothing but pings for this long is ended, freeing its
         * process (default 30m). Pings prove a connection lives, not that it is used.
         */
        idleTimeout: duration('1s', '24h').optional(),
      })
      .optional(),
    /**
     * A persistent volume for a server that keeps state in files (the memory server's graph):
     * it survives sleep, restarts and new versions. The server finds it at $(MCPFLEET_DATA_DIR)
     * (use that in `inputs`); in a cluster it is a ReadWriteOnce claim, so such a server runs
     * one replica. Default: none (files live as long as the process).
     */
    storage: z
      .strictObject({
        size: z
          .string()
          .regex(/^[0-9]+(Mi|Gi|Ti)$/, 'a volume size like "1Gi" or "500Mi"')
          .default(DEFAULTS.storageSize),
        /** The cluster's StorageClass (default: the cluster's default class). */
        storageClass: z
          .string()
          .max(253)
          .regex(DNS1123_SUBDOMAIN, 'a StorageClass name (lowercase, digits, "-", ".")')
          .optional(),
      })
      .optional(),
    /** Allowed egress destinations besides DNS. Default: none (deny all). */
    egress: z.array(EgressRuleSchema).optional(),
    /** Which Kubernetes Secret key feeds each isSecret variable, argument or header. */
    secrets: z.record(z.string().min(1), SecretBindingSchema).optional(),
    /** Values for arguments (by valueHint or name) and environment variables without a fixed value. */
    inputs: z.record(z.string().min(1), InputValueSchema).optional(),
    /** Container port for servers whose transport is HTTP (default 8080). */
    port: z.number().int().min(1).max(65535).optional(),
    /**
     * Who may use the server (groups, scopes, API key names) and which tools (allow/deny, by
     * name or "get_*" pattern), enforced by the gateway (access-schema.ts). Default: everyone
     * the gateway admits, every tool.
     */
    access: AccessSchema,
  })
  .superRefine((settings, ctx) => {
    const maxReplicas = settings.scaling?.maxReplicas ?? DEFAULTS.maxReplicas;
    if (settings.storage !== undefined && maxReplicas !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['scaling', 'maxReplicas'],
        message:
          `a server with "storage" runs one replica (its volume attaches to one node at a ` +
          `time): set scaling.maxReplicas to 1 (it is ${maxReplicas})`,
      });
    }
    for (const key of Object.keys(settings.inputs ?? {})) {
      if (settings.secrets?.[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['inputs', key],
          message: `"${key}" is bound to a secret under "secrets"; remove it from "inputs"`,
        });
      }
    }
  });
export type PlatformSettings = z.infer<typeof PlatformSettingsSchema>;
