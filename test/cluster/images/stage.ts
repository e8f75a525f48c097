// One build stage while a Dockerfile is followed: its files (a directory), the host files
// standing in for its base, and its config so far.
import type { Mount } from './layout.ts';
import { resolve, type View } from './stage-view.ts';

export interface Stage extends View {
  name?: string;
  index: number;
  rootfs: string;
  baseMounts: Mount[];
  hostDirs: string[];
  /** Directories under hostDirs that the image owns (their host contents are hidden). */
  ownedDirs: string[];
  /** apt-get install is satisfied from this host's Debian packages. */
  debianFromHost: boolean;
  /** ENV, in order. */
  env: Map<string, string>;
  /** ARGs in scope. */
  args: Map<string, string>;
  workingDir: string;
  user: string;
  entrypoint: string[];
  cmd: string[];
  /** The CMD came from the base image (an ENTRYPOINT in this Dockerfile resets it). */
  cmdFromBase: boolean;
  exposedPorts: string[];
  stopSignal?: string;
  labels: Record<string, string>;
  volumes: string[];
  /** Cache keys of what the stage is built on, for messages. */
  base: string;
}

/** Variables a RUN line or an instruction sees: ARGs, overridden by ENV. */
export function stageVars(stage: Stage): Map<string, string> {
  return new Map([...stage.args, ...stage.env]);
}

/**
 * The host path where a write to container path `path` lands in this stage's own files.
 * Throws when the path belongs to a host stand-in (a base mount or a host OS directory).
 */
export function writablePath(stage: Stage, path: string, followLast = false): string {
  const resolved = resolve(stage, path, stage.workingDir, followLast);
  if (resolved.kind === 'mount')
    throw new Error(
      `${resolved.path} is provided by a host stand-in for the base image (${resolved.mount.source}); the materializer cannot change it`,
    );
  if (resolved.kind === 'host')
    throw new Error(
      `${resolved.path} is in ${stage.hostDirs.find((d) => resolved.path.startsWith(d))}, which this host stands in for (mounted read-only); only ${stage.ownedDirs.join(', ') || 'no directory'} there belongs to the image`,
    );
  return resolved.hostPath;
}
