// The ContainerStarter over test/cluster/images: an image is materialized from its Dockerfile
// (or a third-party stand-in) once per ref, containers run with runInImage (a private mount
// namespace with the image's files, the pod's netns and hostname, the user) and exec probes with
// execInContainer. Image layouts are not per architecture: an arm64 node runs the same files.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  execInContainer,
  materializeImage,
  runInImage,
  type ImageLayout,
  type MaterializeOptions,
} from '../images/index.ts';
import {
  collect,
  type ContainerProcessSpec,
  type ContainerStarter,
  type ImageConfig,
} from './container-starter.ts';

export interface ImageStarterOptions {
  /** How a ref becomes a layout (default: materializeImage(ref, materializeOptions)). */
  materialize?: (ref: string) => Promise<ImageLayout>;
  materializeOptions?: MaterializeOptions;
}

const SETSID = ['/usr/bin/setsid', '/bin/setsid'].find(existsSync);

function userOf(
  spec: Pick<ContainerProcessSpec, 'uid' | 'gid'>,
  layout: ImageLayout,
): string | undefined {
  if (spec.uid === undefined && spec.gid === undefined) return undefined;
  const [imageUid, imageGid] = layout.user.split(':');
  const uid = spec.uid ?? Number(imageUid || 0);
  const gid =
    spec.gid ?? (spec.uid === undefined && imageGid !== undefined ? Number(imageGid) : undefined);
  return gid === undefined ? String(uid) : `${uid}:${gid}`;
}

export function imageStarter(options: ImageStarterOptions = {}): ContainerStarter {
  const layouts = new Map<string, ImageLayout>();
  const materialize =
    options.materialize ?? ((ref: string) => materializeImage(ref, options.materializeOptions));
  const layoutOf = (image: ImageConfig): ImageLayout => {
    const layout = layouts.get(image.ref);
    if (!layout) throw new Error(`image ${image.ref} was not resolved`);
    return layout;
  };
  return {
    async resolveImage(ref) {
      const layout = await materialize(ref);
      layouts.set(ref, layout);
      const digest = /^[0-9a-f]{64}$/.test(layout.key)
        ? layout.key
        : createHash('sha256').update(layout.key).digest('hex');
      return {
        ref,
        imageID: `${ref.replace(/[:@].*$/, '')}@sha256:${digest}`,
        env: Object.entries(layout.env),
        workingDir: layout.workingDir,
        user: layout.user,
        entrypoint: layout.entrypoint,
        cmd: layout.cmd,
      };
    },
    // The image's own files. A stand-in's host mounts (e.g. /usr/local/bin/node of the node
    // row) are not in its rootfs, so they are missing from the volume: images whose files are
    // their own (a Go binary, COPY'd files) are what image volumes carry here.
    async imageVolume(ref) {
      return (await materialize(ref)).rootfs;
    },
    start(image, spec) {
      const layout = layoutOf(image);
      const user = userOf(spec, layout);
      // setsid (from the host's /usr, which Debian-based layouts share) makes the container
      // process a process-group leader without a fork, so the kubelet can signal the group.
      const argv = SETSID && layout.hostDirs.includes('/usr') ? [SETSID, ...spec.argv] : spec.argv;
      return runInImage(layout, argv, {
        env: Object.fromEntries(spec.env),
        mounts: spec.mounts,
        workingDir: spec.workingDir || undefined,
        ...(user !== undefined ? { user } : {}),
        groups: spec.supplementalGroups,
        ...(spec.netnsPath ? { netns: path.basename(spec.netnsPath) } : {}),
        hostname: spec.hostname,
        readOnlyRootFilesystem: spec.readOnlyRootFilesystem,
        noNewPrivileges: spec.noNewPrivileges,
        stdio: ['ignore', spec.stdout, spec.stderr],
      });
    },
    exec(image, container, argv, timeoutMs) {
      const layout = layoutOf(image);
      const user = userOf(container.spec, layout);
      const child = execInContainer(container.pid, layout, argv, {
        env: Object.fromEntries(container.spec.env),
        ...(user !== undefined ? { user } : {}),
        groups: container.spec.supplementalGroups,
        workingDir: container.spec.workingDir || layout.workingDir,
        noNewPrivileges: container.spec.noNewPrivileges,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return collect(child, timeoutMs);
    },
  };
}
