// The platform-wide Cedar policy file in the cluster (issue 10, mcpfleet:auth.policyFile): a
// ConfigMap holding the file under its own name, mounted read-only into the controller, and
// MCPFLEET_POLICY_FILE naming the mounted file. Its name is kept because a policy without an
// @id is named `<file name>:<line>` in decisions and audit records: the rules the pods report
// are the lines of the file in the repository. The controller reads the file once, at start,
// so the pod template carries the content's checksum and a changed file rolls the pods.
import { createHash } from 'node:crypto';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import { platformLabels } from '../../registry/catalog/workload-names.ts';

export const PLATFORM_POLICY_CONFIGMAP = 'mcpfleet-platform-policy';
export const PLATFORM_POLICY_DIR = '/etc/mcpfleet/policy';
export const PLATFORM_POLICY_CHECKSUM_ANNOTATION = 'mcpfleet.dev/platform-policy-sha256';
const VOLUME = 'platform-policy';

/** The policy file as checked at preview (infra/platform-policy.ts). */
export interface PlatformPolicy {
  /** The file's own name: the ConfigMap key and the mounted file's name. */
  fileName: string;
  text: string;
}

export const policyChecksum = (policy: PlatformPolicy): string =>
  createHash('sha256').update(policy.text).digest('hex');

/** Where the controller finds the file in its pod. */
export const mountedPolicyFile = (policy: PlatformPolicy): string =>
  `${PLATFORM_POLICY_DIR}/${policy.fileName}`;

export function platformPolicyConfigMap(namespace: string, policy: PlatformPolicy): IConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: PLATFORM_POLICY_CONFIGMAP,
      namespace,
      labels: platformLabels(PLATFORM_POLICY_CONFIGMAP, 'policy'),
    },
    data: { [policy.fileName]: policy.text },
  };
}

/** What the controller's pod template gains from a policy file; nothing without one. */
export interface PolicyPodParts {
  env: IEnvVar[];
  volumes: IVolume[];
  volumeMounts: IVolumeMount[];
  annotations: Record<string, string>;
}

export function platformPolicyPodParts(policy: PlatformPolicy | undefined): PolicyPodParts {
  if (!policy) return { env: [], volumes: [], volumeMounts: [], annotations: {} };
  return {
    env: [{ name: 'MCPFLEET_POLICY_FILE', value: mountedPolicyFile(policy) }],
    volumes: [
      {
        name: VOLUME,
        configMap: {
          name: PLATFORM_POLICY_CONFIGMAP,
          items: [{ key: policy.fileName, path: policy.fileName }],
        },
      },
    ],
    volumeMounts: [{ name: VOLUME, mountPath: PLATFORM_POLICY_DIR, readOnly: true }],
    annotations: { [PLATFORM_POLICY_CHECKSUM_ANNOTATION]: policyChecksum(policy) },
  };
}
