// The restricted Pod Security profile, applied to every pod this program emits. The platform
// namespace enforces `restricted`, so a pod missing any of these would be rejected at admission;
// building them in one place keeps every template (servers, controller, data stores) identical.
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';

/** An unprivileged uid/gid; numeric so kubelet can verify runAsNonRoot for any image. */
export const RUN_AS_USER = 10001;

export function restrictedPodSecurityContext(uid = RUN_AS_USER): IPodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function restrictedContainerSecurityContext(): ISecurityContext {
  return {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The root filesystem is read-only; /tmp is the one scratch space, bounded. */
export const TMP_VOLUME: IVolume = { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } };
export const TMP_MOUNT: IVolumeMount = { name: 'tmp', mountPath: '/tmp' };

/** Checks a container the same way the restricted profile would; returns what is missing. */
export function restrictedViolations(container: IContainer): string[] {
  const sc = container.securityContext ?? {};
  const problems: string[] = [];
  if (sc.allowPrivilegeEscalation !== false)
    problems.push('allowPrivilegeEscalation must be false');
  if (sc.readOnlyRootFilesystem !== true) problems.push('readOnlyRootFilesystem must be true');
  if (!sc.capabilities?.drop?.includes('ALL')) problems.push('capabilities must drop ALL');
  if (sc.seccompProfile?.type !== 'RuntimeDefault')
    problems.push('seccompProfile must be RuntimeDefault');
  if (sc.runAsNonRoot !== true) problems.push('runAsNonRoot must be true');
  return problems;
}
