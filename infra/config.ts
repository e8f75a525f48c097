// The one reader of `pulumi.Config` for the mcpfleet program.
//
// Every key of `Pulumi.<stack>.yaml` under the `mcpfleet:` namespace is parsed here with zod, so
// a typo or a wrong type fails the deployment before any resource is registered, with a message
// that names the exact key (e.g. `mcpfleet:nodeGroups.arm64.desiredSize: expected a positive
// integer`). Components receive the typed `StackConfig` and never touch `pulumi.Config`.
import * as pulumi from '@pulumi/pulumi';
import { z } from 'zod';
import { auditConfig } from './audit-config.ts';
import { authConfig } from './auth-config.ts';

const NAMESPACE = 'mcpfleet';

const positiveInt = z
  .number({ error: 'expected a positive integer' })
  .int({ error: 'expected a positive integer' })
  .positive({ error: 'expected a positive integer' });
const nonNegativeInt = z
  .number({ error: 'expected a non-negative integer' })
  .int({ error: 'expected a non-negative integer' })
  .nonnegative({ error: 'expected a non-negative integer' });
const nonEmpty = z.string({ error: 'expected a non-empty string' }).min(1, {
  error: 'expected a non-empty string',
});
const quantity = z
  .string({ error: 'expected a Kubernetes quantity such as "250m" or "512Mi"' })
  .regex(/^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/, {
    error: 'expected a Kubernetes quantity such as "250m" or "512Mi"',
  });
const cidr = z
  .string({ error: 'expected an IPv4 CIDR such as "10.40.0.0/16"' })
  .regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, {
    error: 'expected an IPv4 CIDR such as "10.40.0.0/16"',
  });
const dnsLabel = z
  .string({ error: 'expected a DNS-1123 label' })
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, {
    error: 'expected a DNS-1123 label (lowercase letters, digits, "-")',
  });
const imageRef = z
  .string({ error: 'expected an image reference such as "ghcr.io/org/name:tag"' })
  .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/, {
    error: 'expected an image reference such as "ghcr.io/org/name:tag"',
  });

const resourceList = z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() });
const resources = z.strictObject({ requests: resourceList, limits: resourceList });

const nodeGroup = z
  .strictObject({
    instanceTypes: z.array(nonEmpty).min(1, { error: 'expected at least one instance type' }),
    minSize: nonNegativeInt,
    desiredSize: positiveInt,
    maxSize: positiveInt,
    diskSizeGiB: positiveInt.default(50),
    capacityType: z.enum(['ON_DEMAND', 'SPOT']).default('ON_DEMAND'),
  })
  .superRefine((group, ctx) => {
    if (group.desiredSize < group.minSize || group.desiredSize > group.maxSize) {
      ctx.addIssue({
        code: 'custom',
        path: ['desiredSize'],
        message: `expected a value between minSize (${group.minSize}) and maxSize (${group.maxSize})`,
      });
    }
  });

/** Image volumes (KEP-4639) are beta and enabled by default from this minor on. */
export const MIN_KUBERNETES_MINOR = 35;

/** An EKS add-on version as `aws eks describe-addon-versions` lists it, e.g. "v1.21.1-eksbuild.3". */
const addonVersion = z.string().regex(/^v\d+\.\d+\.\d+-eksbuild\.\d+$/, {
  error: 'expected an EKS add-on version such as "v1.21.1-eksbuild.3"',
});
/** The retention periods CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
];

const eksCluster = z
  .strictObject({
    mode: z.literal('eks'),
    name: dnsLabel.default('mcpfleet'),
    version: z
      .string()
      .regex(/^1\.\d+$/, { error: 'expected a Kubernetes minor such as "1.35"' })
      .refine((v) => Number(v.split('.')[1]) >= MIN_KUBERNETES_MINOR, {
        error: `expected 1.${MIN_KUBERNETES_MINOR} or newer: stdio servers shipped as OCI images are bridged from image volumes, on by default since Kubernetes 1.${MIN_KUBERNETES_MINOR}`,
      }),
    /**
     * IAM principals (roles/users) that get cluster-admin through EKS access entries. The
     * identity that runs `pulumi up` must be one of them: the cluster creator gets no access.
     */
    adminPrincipalArns: z
      .array(z.string().startsWith('arn:aws:iam::', { error: 'expected an IAM ARN' }))
      .min(1, { error: 'expected at least one IAM principal (the one that runs pulumi up)' }),
    endpointPublicAccess: z.boolean().default(true),
    /**
     * Who may reach the public API endpoint. No default: the operators' and CI's egress ranges
     * differ per organisation (see docs/runbooks/first-deployment.md, "The API endpoint").
     */
    publicAccessCidrs: z.array(cidr).min(1, { error: 'expected at least one CIDR' }).optional(),
    /** Retention of the control plane's CloudWatch log group (api, audit, authenticator). */
    logRetentionDays: z
      .number()
      .refine((days) => LOG_RETENTION_DAYS.includes(days), {
        error: `expected one of the retention periods CloudWatch accepts: ${LOG_RETENTION_DAYS.join(', ')}`,
      })
      .default(90),
    /** Pinned EKS add-on versions, so an `up` never changes them behind the operator's back. */
    addons: z.strictObject({
      vpcCni: addonVersion,
      kubeProxy: addonVersion,
      coredns: addonVersion,
      podIdentityAgent: addonVersion,
      ebsCsiDriver: addonVersion,
    }),
  })
  .superRefine((cluster, ctx) => {
    if (cluster.endpointPublicAccess && !cluster.publicAccessCidrs) {
      ctx.addIssue({
        code: 'custom',
        path: ['publicAccessCidrs'],
        message:
          'required when endpointPublicAccess is true: the ranges of the operators and of the CI runners that run pulumi up',
      });
    }
  });
const existingCluster = z.strictObject({
  mode: z.literal('existing'),
  /** Kubeconfig content. Omit to use the ambient kubeconfig ($KUBECONFIG or ~/.kube/config). */
  kubeconfig: z.string().optional(),
  /** Context inside that kubeconfig; omit for its current-context. */
  context: z.string().optional(),
});
const cluster = z.discriminatedUnion('mode', [eksCluster, existingCluster], {
  error: 'expected mode "eks" or "existing"',
});

const network = z.strictObject({
  cidrBlock: cidr,
  availabilityZones: z
    .array(
      z
        .string()
        .regex(/^[a-z]{2}-[a-z]+-\d[a-z]$/, { error: 'expected an AZ such as "eu-west-1a"' }),
    )
    .min(2, { error: 'expected at least two availability zones (EKS and RDS need two)' }),
  /** "single" saves money in dev; "per-az" keeps egress alive when one zone fails. */
  natGateways: z.enum(['single', 'per-az']).default('single'),
});

const awsDataStores = z.strictObject({
  mode: z.literal('aws'),
  postgres: z.strictObject({
    /**
     * The major version only: RDS applies minor upgrades itself (autoMinorVersionUpgrade), and a
     * pinned minor would plan a downgrade once it has.
     */
    engineVersion: z.string().regex(/^\d+$/, {
      error:
        'expected a major version such as "17": RDS upgrades the minor version itself, and a pinned minor would plan a downgrade after it does',
    }),
    instanceClass: z
      .string()
      .startsWith('db.', { error: 'expected an RDS class such as "db.t4g.medium"' }),
    allocatedStorageGiB: positiveInt,
    maxAllocatedStorageGiB: positiveInt,
    multiAz: z.boolean(),
    deletionProtection: z.boolean(),
    backupRetentionDays: positiveInt.max(35, { error: 'expected at most 35 days' }),
    /** Bump to generate a new master password (see docs/runbooks/rotating-database-password.md). */
    passwordRotation: nonNegativeInt.default(0),
  }),
  redis: z.strictObject({
    engineVersion: nonEmpty,
    nodeType: z
      .string()
      .startsWith('cache.', { error: 'expected a node type such as "cache.t4g.small"' }),
    /** Primary + replicas; failover needs at least 2. */
    nodes: positiveInt,
    automaticFailover: z.boolean(),
    snapshotRetentionDays: nonNegativeInt.default(1),
    tokenRotation: nonNegativeInt.default(0),
    /**
     * How a new token is applied: ROTATE keeps the old token valid next to the new one (while the
     * controller rolls), SET then revokes the old one (docs/runbooks/rotating-database-password.md).
     */
    tokenUpdateStrategy: z.enum(['ROTATE', 'SET']).default('ROTATE'),
  }),
});
const inClusterDataStores = z.strictObject({
  mode: z.literal('in-cluster'),
  storageClassName: z.string().optional(),
  postgres: z.strictObject({
    image: imageRef,
    storageSize: quantity,
    resources,
    passwordRotation: nonNegativeInt.default(0),
  }),
  redis: z.strictObject({
    image: imageRef,
    storageSize: quantity,
    resources,
    tokenRotation: nonNegativeInt.default(0),
  }),
});
const dataStores = z.discriminatedUnion('mode', [awsDataStores, inClusterDataStores], {
  error: 'expected mode "aws" or "in-cluster"',
});

const controller = z.strictObject({
  image: imageRef,
  replicas: positiveInt,
  /** "required": never two replicas in one zone when avoidable (prod); "preferred": best effort. */
  zoneSpread: z.enum(['required', 'preferred']).default('preferred'),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
  resources,
  /** Namespace of the Prometheus that scrapes /metrics; the controller's NetworkPolicy admits it. */
  metricsNamespace: dnsLabel.default('monitoring'),
});

const host = z.string().regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$/, {
  error: 'expected a DNS name such as "mcp.example.com"',
});
/**
 * What the public entry point routes besides the MCP endpoints (/servers/<slug>/mcp): the
 * management API (/api, wake and sleep) and /metrics stay in-cluster unless listed here.
 */
const expose = z.array(z.enum(['api', 'metrics'])).default([]);

/**
 * `alb`: the program installs the AWS Load Balancer Controller and publishes the gateway on an
 * internet-facing ALB (IP targets), with an ACM certificate validated in, and a record written
 * to, the Route 53 zone `hostedZoneId`.
 */
const albIngress = z.strictObject({
  mode: z.literal('alb'),
  host,
  hostedZoneId: z.string().regex(/^Z[A-Z0-9]{1,31}$/, {
    error: 'expected a Route 53 hosted zone ID such as "Z0123456789ABCDEFGHIJ"',
  }),
  /**
   * The ALB closes a connection silent for this long (default 60 s). Long MCP streams stay open
   * while the gateway's SSE keep-alive comments arrive more often than this.
   */
  idleTimeoutSeconds: z
    .number()
    .int()
    .min(60, { error: 'expected at least 60 seconds' })
    .max(4000, { error: 'expected at most 4000 seconds (the ALB maximum)' })
    .default(3600),
  /** Chart version of the AWS Load Balancer Controller (aws/eks-charts). */
  controllerChartVersion: nonEmpty.default('3.5.0'),
  expose,
});
/** `existing`: an ingress controller (and its certificates) the cluster already has. */
const existingIngress = z.strictObject({
  mode: z.literal('existing'),
  host,
  className: nonEmpty,
  /** Secret holding the TLS certificate (created by cert-manager when an issuer annotation is set). */
  tlsSecretName: dnsLabel,
  annotations: z.record(z.string(), z.string()).default({}),
  /** Namespace the ingress controller's pods run in; the controller's NetworkPolicy admits them. */
  controllerNamespace: dnsLabel,
  expose,
});
const ingress = z.discriminatedUnion('mode', [albIngress, existingIngress], {
  error: 'expected mode "alb" or "existing"',
});

const images = z.strictObject({
  runners: z.strictObject({ node: imageRef, python: imageRef, dotnet: imageRef.optional() }),
  /**
   * "bake": build one image per package FROM its runner with the package pre-installed, pushed to
   * `repository` (cold start never installs). "install-on-start": the runner installs the package
   * when the pod starts (dev only: slow cold start and needs registry egress).
   */
  packages: z.enum(['bake', 'install-on-start']),
  repository: imageRef.optional(),
  /**
   * The buildx builder that bakes (docker-container, kubernetes or remote driver): Docker's
   * default `docker` driver cannot build two platforms and push them as one image.
   */
  builder: nonEmpty.optional(),
  /** The ECR lifecycle policy keeps this many tagged images; older ones expire. */
  keepImages: positiveInt.default(200),
  platforms: z
    .array(z.enum(['linux/amd64', 'linux/arm64']))
    .default(['linux/amd64', 'linux/arm64']),
  /** Prebuilt images by package key (`npm:<name>@<version>`), used instead of baking. */
  prebuilt: z.record(z.string(), imageRef).default({}),
  /**
   * Entrypoints of OCI server images that speak stdio: the bridge must run them as a child, and
   * an image's ENTRYPOINT cannot be read without pulling it. Keyed by image without tag.
   */
  entrypoints: z.record(z.string(), z.array(nonEmpty).min(1)).default({}),
});

const configSchema = z
  .strictObject({
    namespace: dnsLabel.default('mcpfleet'),
    registryDir: nonEmpty.default('registry/servers'),
    cluster,
    network: network.optional(),
    nodeGroups: z.strictObject({ amd64: nodeGroup, arm64: nodeGroup }).optional(),
    dataStores,
    controller,
    ingress,
    images,
    /** Who may call the controller (infra/auth-config.ts); API keys are always on. */
    auth: authConfig,
    /** The controller's audit log (infra/audit-config.ts): how long records are kept. */
    audit: auditConfig,
    /** Values for the Secrets that server specs reference: secretName → key → value. */
    serverSecrets: z.record(dnsLabel, z.record(z.string(), z.string())).default({}),
  })
  .superRefine((config, ctx) => {
    if (config.cluster.mode === 'eks') {
      if (!config.network)
        ctx.addIssue({
          code: 'custom',
          path: ['network'],
          message: 'required when cluster.mode is "eks"',
        });
      if (!config.nodeGroups)
        ctx.addIssue({
          code: 'custom',
          path: ['nodeGroups'],
          message: 'required when cluster.mode is "eks"',
        });
    }
    if (config.dataStores.mode === 'aws' && config.cluster.mode !== 'eks') {
      ctx.addIssue({
        code: 'custom',
        path: ['dataStores', 'mode'],
        message: '"aws" needs cluster.mode "eks" (the security groups admit only that cluster)',
      });
    }
    if (config.images.packages === 'bake' && !config.images.repository) {
      ctx.addIssue({
        code: 'custom',
        path: ['images', 'repository'],
        message: 'required when images.packages is "bake"',
      });
    }
    if (
      config.images.packages === 'bake' &&
      config.images.platforms.length > 1 &&
      !config.images.builder
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['images', 'builder'],
        message:
          'required to bake more than one platform: the name of a buildx builder with the docker-container, kubernetes or remote driver (docs/runbooks/first-deployment.md)',
      });
    }
    if (config.ingress.mode === 'alb' && config.cluster.mode !== 'eks') {
      ctx.addIssue({
        code: 'custom',
        path: ['ingress', 'mode'],
        message:
          '"alb" needs cluster.mode "eks" (the program installs the AWS Load Balancer Controller there); use "existing" with the cluster\'s own ingress controller',
      });
    }
  });

export type StackConfig = z.infer<typeof configSchema>;
export type EksClusterConfig = z.infer<typeof eksCluster>;
export type NetworkConfig = z.infer<typeof network>;
export type NodeGroupConfig = z.infer<typeof nodeGroup>;
export type DataStoresConfig = z.infer<typeof dataStores>;
export type AwsDataStoresConfig = z.infer<typeof awsDataStores>;
export type InClusterDataStoresConfig = z.infer<typeof inClusterDataStores>;
export type ControllerConfig = z.infer<typeof controller>;
export type IngressConfig = z.infer<typeof ingress>;
export type AlbIngressConfig = z.infer<typeof albIngress>;
export type ImagesConfig = z.infer<typeof images>;

/** The keys this program reads (the top level of the schema). */
export const CONFIG_KEYS = Object.keys(configSchema.shape) as (keyof StackConfig)[];

/** Raised for an invalid stack configuration; the message lists every bad key. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Validates raw config values (already JSON-decoded, keyed without the namespace). Exported
 * separately from `loadConfig` so `mcpfleet registry render` can read Pulumi.<stack>.yaml
 * without a Pulumi engine.
 */
export function parseConfig(raw: Record<string, unknown>): StackConfig {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = issue.path.map(String).join('.');
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown key(s) ${issue.keys.join(', ')}`
        : issue.message;
    return `${NAMESPACE}:${key || '(root)'}: ${message}`;
  });
  throw new ConfigError(`invalid stack configuration:\n  ${lines.join('\n  ')}`);
}

/** Reads and validates the `mcpfleet:` config of the current stack. */
export function loadConfig(): StackConfig {
  const config = new pulumi.Config(NAMESPACE);
  const raw: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const text = config.get(key);
    if (text === undefined) continue;
    raw[key] = decodeValue(key, text);
  }
  return parseConfig(raw);
}

/** Structured config arrives as JSON text; plain scalars arrive as strings. */
function decodeValue(key: string, text: string): unknown {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError(`${NAMESPACE}:${key}: not valid structured config (JSON/YAML object)`);
  }
}
