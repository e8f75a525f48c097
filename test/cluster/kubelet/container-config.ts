// Turns a pod's container into what the starter runs: the image config, argv (command/args over
// ENTRYPOINT/CMD), the environment (image env, then HOSTNAME, then the container's), the user
// (securityContext, else the image's USER, with runAsNonRoot verified), working directory and the
// volume mounts as bind mounts (readOnly, subPath, subPathExpr).
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPod } from 'kubernetes-models/v1/Pod';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ImageConfig, Mount } from './container-starter.ts';
import { ImagePullError, type PreparedContainer } from './container-runner.ts';
import type { PodRuntimeInfo } from './downward-api.ts';
import { ContainerConfigError, containerArgv, containerEnv, type ObjectSource } from './env.ts';
import { expand, mappingFor } from './expansion.ts';

export interface ContainerConfigInput {
  pod: IPod;
  container: IContainer;
  info: PodRuntimeInfo;
  source: ObjectSource;
  serviceEnv: ReadonlyMap<string, string>;
  resolveImage(ref: string): Promise<ImageConfig>;
  volumePaths: ReadonlyMap<string, string>;
  /** Extra mounts the kubelet manages (/etc/hosts), unless the container mounts the path itself. */
  managedMounts: Mount[];
  netnsPath: string | undefined;
}

function checkNonRoot(uid: number | undefined, image: ImageConfig, runAsNonRoot: boolean): void {
  if (!runAsNonRoot) return;
  if (uid !== undefined) {
    if (uid === 0) {
      throw new ContainerConfigError('container has runAsNonRoot and image will run as root');
    }
    return;
  }
  const user = image.user.split(':')[0] ?? '';
  if (user === '' || user === '0' || user === 'root') {
    throw new ContainerConfigError('container has runAsNonRoot and image will run as root');
  }
  if (!/^\d+$/.test(user)) {
    throw new ContainerConfigError(
      `container has runAsNonRoot and image has non-numeric user (${user}), cannot verify user is non-root`,
    );
  }
}

export async function prepareContainer(input: ContainerConfigInput): Promise<PreparedContainer> {
  const { pod, container } = input;
  let image: ImageConfig;
  try {
    image = await input.resolveImage(container.image ?? '');
  } catch (err) {
    throw new ImagePullError(
      `failed to pull image "${container.image}": ${String((err as Error).message ?? err)}`,
    );
  }

  let env: Map<string, string>;
  try {
    env = await containerEnv(container, input.info, input.source, input.serviceEnv);
  } catch (err) {
    if (err instanceof ContainerConfigError) throw err;
    throw new ContainerConfigError(String((err as Error).message ?? err));
  }
  const argv = containerArgv(container, env, image);
  if (!argv.length) throw new ContainerConfigError('no command specified');

  const processEnv = new Map<string, string>(image.env);
  processEnv.set('HOSTNAME', pod.spec?.hostname ?? pod.metadata?.name ?? '');
  for (const [key, value] of env) processEnv.set(key, value);

  const podSecurity = pod.spec?.securityContext ?? {};
  const security = container.securityContext ?? {};
  const uid = security.runAsUser ?? podSecurity.runAsUser;
  const gid = security.runAsGroup ?? podSecurity.runAsGroup;
  checkNonRoot(uid, image, Boolean(security.runAsNonRoot ?? podSecurity.runAsNonRoot));
  const supplementalGroups = [...(podSecurity.supplementalGroups ?? [])];
  if (podSecurity.fsGroup !== undefined) supplementalGroups.push(podSecurity.fsGroup);

  const mapping = mappingFor(env);
  const mounts: Mount[] = [];
  for (const volumeMount of container.volumeMounts ?? []) {
    const volumePath = input.volumePaths.get(volumeMount.name);
    if (!volumePath) {
      throw new ContainerConfigError(
        `unable to find volume "${volumeMount.name}" for container ${container.name}`,
      );
    }
    let subPath = volumeMount.subPath ?? '';
    if (volumeMount.subPathExpr) subPath = expand(volumeMount.subPathExpr, mapping);
    if (path.isAbsolute(subPath) || subPath.split('/').includes('..')) {
      throw new ContainerConfigError(`invalid subPath ${JSON.stringify(subPath)}`);
    }
    let source = volumePath;
    if (subPath) {
      source = path.join(volumePath, subPath);
      // kubelet creates a missing subPath as a directory (0750 owned by root; 0777 here so a
      // non-root container can write into an emptyDir subPath like it could into the volume).
      const exists = await fs.stat(source).then(
        () => true,
        () => false,
      );
      if (!exists) {
        await fs.mkdir(source, { recursive: true });
        await fs.chmod(source, 0o777);
      }
    }
    mounts.push({ source, target: volumeMount.mountPath, readOnly: Boolean(volumeMount.readOnly) });
  }
  for (const managed of input.managedMounts) {
    if (!mounts.some((mount) => mount.target === managed.target)) mounts.push(managed);
  }

  return {
    image,
    spec: {
      argv,
      env: processEnv,
      workingDir: container.workingDir || image.workingDir,
      uid,
      gid,
      supplementalGroups,
      mounts,
      netnsPath: input.netnsPath,
      hostname: pod.spec?.hostname ?? pod.metadata?.name ?? '',
      readOnlyRootFilesystem: Boolean(security.readOnlyRootFilesystem),
      noNewPrivileges: security.allowPrivilegeEscalation === false,
    },
  };
}
