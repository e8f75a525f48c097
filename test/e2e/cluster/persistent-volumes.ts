// Storage for the StatefulSets' volumeClaimTemplates and the servers' own claims. On EKS the EBS CSI driver provisions a PV
// per claim (pre-bound to it through claimRef), formats it (ext4: a root-owned root with
// lost+found) and kubelet applies the pod's fsGroup to it (group-owned, g+rwx, setgid). The stand
// in here: one hostPath PV per claim, pre-bound the same way, whose directory is made to look
// like that mounted volume — so the PGDATA subdirectory the manifest sets, and the non-root
// users of PostgreSQL and Redis writing there, meet what they would meet on EKS.
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { K8sObject } from './collect-objects.ts';

interface ClaimTemplate {
  metadata: { name: string };
  spec: ClaimSpec;
}
interface StatefulSetSpec {
  replicas?: number;
  volumeClaimTemplates?: ClaimTemplate[];
  template: { spec: { securityContext?: { fsGroup?: number } } };
}

export interface PlannedVolume {
  pv: K8sObject;
  claim: string;
  dir: string;
}

interface ClaimSpec {
  accessModes: string[];
  storageClassName?: string;
  resources: { requests: { storage: string } };
}
interface DeploymentSpec {
  template: {
    spec: {
      securityContext?: { fsGroup?: number };
      volumes?: Array<{ persistentVolumeClaim?: { claimName: string } }>;
    };
  };
}

/**
 * One PV per claim: each claim the StatefulSets will make (`<template>-<statefulset>-<ordinal>`),
 * and each PersistentVolumeClaim declared on its own (a server with storage), for the pod that
 * mounts it.
 */
export function volumesForClaims(
  objects: readonly K8sObject[],
  namespace: string,
  rootDir: string,
): PlannedVolume[] {
  const planned: PlannedVolume[] = [];
  const plan = (claim: string, spec: ClaimSpec, fsGroup: number | undefined): void => {
    const dir = join(rootDir, claim);
    mkdirSync(join(dir, 'lost+found'), { recursive: true });
    chmodSync(join(dir, 'lost+found'), 0o700);
    if (fsGroup !== undefined) {
      chownSync(dir, 0, fsGroup);
      chmodSync(dir, 0o2775);
    }
    planned.push({
      claim,
      dir,
      pv: {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: {
          name: `${namespace}-${claim}`,
          labels: { 'mcpfleet.dev/test-namespace': namespace },
        },
        spec: {
          capacity: { storage: spec.resources.requests.storage },
          accessModes: spec.accessModes,
          // The claim's class ("" when it names none and the cluster has no default).
          storageClassName: spec.storageClassName ?? '',
          persistentVolumeReclaimPolicy: 'Retain',
          claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name: claim },
          hostPath: { path: dir, type: 'Directory' },
        },
      },
    });
  };
  for (const set of objects.filter((o) => o.kind === 'StatefulSet')) {
    const spec = set.spec as StatefulSetSpec;
    for (const template of spec.volumeClaimTemplates ?? []) {
      for (let ordinal = 0; ordinal < (spec.replicas ?? 1); ordinal++) {
        plan(
          `${template.metadata.name}-${set.metadata.name}-${ordinal}`,
          template.spec,
          spec.template.spec.securityContext?.fsGroup,
        );
      }
    }
  }
  for (const claim of objects.filter((o) => o.kind === 'PersistentVolumeClaim')) {
    const name = claim.metadata.name;
    const user = objects.find(
      (o) =>
        o.kind === 'Deployment' &&
        (o.spec as DeploymentSpec).template.spec.volumes?.some(
          (v) => v.persistentVolumeClaim?.claimName === name,
        ),
    );
    plan(
      name,
      claim.spec as ClaimSpec,
      (user?.spec as DeploymentSpec | undefined)?.template.spec.securityContext?.fsGroup,
    );
  }
  return planned;
}
