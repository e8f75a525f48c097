// The shape of a compiled ServerSpec (registry/catalog/spec.ts), in zod, for specs that arrive
// already compiled: the registry ConfigMaps a cluster mounts. This is a shape check, not a
// compiler: it catches a truncated, hand-edited or foreign file with a located message, and a
// spec from an incompatible compiler by its apiVersion. Unknown fields are allowed (a newer
// compiler may add some during a rolling upgrade); the spec is used as written.
import { z } from 'zod';
import { SLUG_PATTERN } from '../../registry/catalog/load.ts';
import { SPEC_API_VERSION, type ServerSpec } from '../../registry/catalog/spec.ts';

const text = z.string();
const count = z.number().int().nonnegative();
const millis = z.number().nonnegative();
const port = z.number().int().min(1).max(65535);
const arch = z.enum(['amd64', 'arm64']);
const stringMap = z.record(z.string(), z.string());

const SecretRefSchema = z.object({ env: text, secretName: text, key: text });
const EgressRuleSchema = z.object({
  host: text.optional(),
  cidr: text.optional(),
  ports: z.array(port),
});
const ResourceListSchema = z.object({ cpu: text.optional(), memory: text.optional() });

const ArtifactSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('image'), image: text }),
  z.object({
    type: z.literal('package'),
    runner: z.enum(['node', 'python', 'dotnet']),
    registryType: z.enum(['npm', 'pypi', 'nuget']),
    identifier: text,
    version: text,
    registryBaseUrl: text.optional(),
  }),
  z.object({
    type: z.literal('mcpb'),
    url: text,
    sha256: text,
    runner: z.enum(['node', 'python']),
  }),
]);

const TransportSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('stdio') }),
  z.object({
    type: z.enum(['streamable-http', 'sse']),
    port,
    path: text,
    portVariable: text.optional(),
  }),
]);

const LocalLaunchSchema = z.discriminatedUnion('runnable', [
  z.object({
    runnable: z.literal(true),
    command: text,
    args: z.array(text),
    npmPackage: z.object({ name: text, version: text }).optional(),
    pythonPackage: z.object({ name: text, version: text }).optional(),
    requires: z.array(text),
  }),
  z.object({ runnable: z.literal(false), reason: text }),
]);

const common = {
  apiVersion: z.literal(SPEC_API_VERSION, {
    error: (issue) =>
      issue.input === undefined
        ? `required field is missing (expected "${SPEC_API_VERSION}")`
        : `apiVersion ${JSON.stringify(issue.input)} is not one this controller reads ("${SPEC_API_VERSION}"): compile the registry with the same mcpfleet version`,
  }),
  slug: text.regex(SLUG_PATTERN, 'not a valid slug (a DNS-1123 label of at most 40 characters)'),
  name: text.min(1),
  title: text,
  description: text,
  version: text,
  source: text,
  scaling: z.object({
    minReplicas: count,
    maxReplicas: count,
    idleTimeoutMs: millis,
    sessionsPerReplica: count,
  }),
  health: z.object({
    intervalMs: millis,
    timeoutMs: millis,
    failureThreshold: count,
    startupTimeoutMs: millis,
  }),
  sessions: z.object({
    resume: z.boolean(),
    maxPerClient: count.min(1).optional(),
    idleTimeoutMs: millis.optional(),
  }),
  meta: z.record(z.string(), z.unknown()),
  access: z
    .object({
      groups: z.array(text).optional(),
      scopes: z.array(text).optional(),
      keys: z.array(text).optional(),
      tools: z
        .object({ allow: z.array(text).optional(), deny: z.array(text).optional() })
        .optional(),
    })
    .optional(),
};

const WorkloadSpecSchema = z.object({
  ...common,
  kind: z.literal('workload'),
  packageIndex: z.partialRecord(arch, count),
  artifacts: z.partialRecord(arch, ArtifactSchema),
  nodeArch: arch.optional(),
  command: z.array(text),
  args: z.array(text),
  env: stringMap,
  secretEnv: z.array(SecretRefSchema),
  transport: TransportSchema,
  warmSpare: z.boolean(),
  resources: z.object({ requests: ResourceListSchema, limits: ResourceListSchema }),
  storage: z.object({ size: text, storageClass: text.optional() }).optional(),
  egress: z.array(EgressRuleSchema),
  local: LocalLaunchSchema,
});

const RemoteSpecSchema = z.object({
  ...common,
  kind: z.literal('remote'),
  upstream: z.object({
    type: z.enum(['streamable-http', 'sse']),
    url: text,
    headers: stringMap,
    secretHeaders: z.array(SecretRefSchema),
  }),
  egress: z.array(EgressRuleSchema),
});

export const ServerSpecSchema = z.discriminatedUnion(
  'kind',
  [WorkloadSpecSchema, RemoteSpecSchema],
  { error: 'kind must be "workload" or "remote"' },
);

// Compile-time guard: what the schema accepts is a ServerSpec. Fails `tsc` when spec.ts
// gains a required field the schema does not check.
export const asServerSpec: (value: z.infer<typeof ServerSpecSchema>) => ServerSpec = (value) =>
  value;
