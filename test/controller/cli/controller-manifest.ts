// The controller container exactly as `pulumi up` deploys it (infra/manifests/platform.ts
// controllerDeployment for a stack, dev by default): its args, and its env with what the kubelet
// would fill in — fieldRefs from the pod, secretKeyRefs from the given connection URLs and
// key-hashing secret — and the files its ConfigMap volumes put in the pod.
import type { AuditConfig } from '../../../infra/audit-config.ts';
import { readStackFile } from '../../../infra/render.ts';
import { controllerDeployment, REGISTRY_MOUNT } from '../../../infra/manifests/platform.ts';
import {
  platformPolicyConfigMap,
  type PlatformPolicy,
} from '../../../infra/manifests/platformPolicy.ts';

export interface ControllerContainer {
  args: string[];
  env: Record<string, string>;
  /** Where the manifest mounts the registry volume. */
  registryMount: string;
  namespace: string;
  podName: string;
  publicUrl: string;
  /** The files the pod sees from its ConfigMap volumes (the platform policy's), by path. */
  files: Record<string, string>;
}

/** What a stack's config would set beyond its file: the policy file as checked at preview. */
export interface StackChanges {
  platformPolicy?: PlatformPolicy;
  audit?: AuditConfig;
}

/** The values behind the Deployment's secretKeyRefs, by env name. */
export interface ContainerSecrets {
  DATABASE_URL?: string;
  REDIS_URL?: string;
  MCPFLEET_KEY_HASHING_SECRET?: string;
}

const DEFAULT_SECRETS: Required<ContainerSecrets> = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
  REDIS_URL: 'redis://127.0.0.1:6379',
  MCPFLEET_KEY_HASHING_SECRET: 'test-key-hashing-secret-of-forty-eight-characters',
};

export function controllerContainer(
  given: ContainerSecrets = {},
  stack: 'dev' | 'prod' = 'dev',
  changes: StackChanges = {},
): ControllerContainer {
  const secrets = { ...DEFAULT_SECRETS, ...given };
  const config = readStackFile(stack);
  const publicUrl = `https://${config.ingress.host}`;
  const deployment = controllerDeployment({
    namespace: config.namespace,
    controller: config.controller,
    auth: config.auth,
    audit: changes.audit ?? config.audit,
    ...(changes.platformPolicy ? { platformPolicy: changes.platformPolicy } : {}),
    gatewayUrl: publicUrl,
    registryConfigMaps: ['mcpfleet-registry-0', 'mcpfleet-registry-1'],
    secretsRevision: 'test',
  });
  const container = deployment.spec!.template.spec!.containers[0]!;
  const podName = 'mcpfleet-controller-7d9f8b6c5-x2k4q';
  const fields: Record<string, string> = {
    'metadata.namespace': config.namespace,
    'metadata.name': podName,
  };
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (variable.valueFrom?.fieldRef) {
      const value = fields[variable.valueFrom.fieldRef.fieldPath];
      if (value === undefined)
        throw new Error(`unexpected fieldRef ${variable.valueFrom.fieldRef.fieldPath}`);
      env[variable.name] = value;
    } else if (variable.valueFrom?.secretKeyRef) {
      const value = secrets[variable.name as keyof typeof secrets];
      if (value === undefined) throw new Error(`unexpected secret env ${variable.name}`);
      env[variable.name] = value;
    } else throw new Error(`unexpected env ${variable.name}`);
  }
  const configMaps = changes.platformPolicy
    ? [platformPolicyConfigMap(config.namespace, changes.platformPolicy)]
    : [];
  const files: Record<string, string> = {};
  for (const mount of container.volumeMounts ?? []) {
    const volume = deployment.spec!.template.spec!.volumes?.find((v) => v.name === mount.name);
    const configMap = configMaps.find((c) => c.metadata?.name === volume?.configMap?.name);
    for (const item of volume?.configMap?.items ?? [])
      if (configMap?.data?.[item.key] !== undefined)
        files[`${mount.mountPath}/${item.path}`] = configMap.data[item.key]!;
  }
  return {
    args: container.args ?? [],
    env,
    registryMount: REGISTRY_MOUNT,
    namespace: config.namespace,
    podName,
    publicUrl,
    files,
  };
}
