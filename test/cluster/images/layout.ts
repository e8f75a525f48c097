// What a materialized image is: its own files in a directory, plus host files and directories
// that stand in for the base image, plus the image config (env, entrypoint...). `runInImage`
// (run-in-image.ts) turns a layout into a running container; this file is the contract.

/** A host path that appears at `target` inside the container. */
export interface Mount {
  source: string;
  target: string;
  readOnly?: boolean;
}

export interface ImageLayout {
  /** The image reference this layout stands for. */
  ref: string;
  /** The image's own files at their paths: `<rootfs>/opt/mcpfleet/controller/...`. */
  rootfs: string;
  env: Record<string, string>;
  /** Absolute; `/` when the Dockerfile sets none. */
  workingDir: string;
  /** Numeric `uid:gid` (names resolved through the image's /etc/passwd). */
  user: string;
  entrypoint: string[];
  cmd: string[];
  /**
   * Host files and directories standing in for files of the base image, in mount order
   * (e.g. this checkout's Node 22 binary at /usr/local/bin/node). `rootfs` holds an empty
   * placeholder at each target.
   */
  baseMounts: Mount[];
  /**
   * Host directories that stand in for the base image's operating system (Debian's /usr, /etc),
   * at the same paths, copy-on-write (the host never sees a change). Empty for images FROM
   * scratch.
   */
  hostDirs: string[];
  /**
   * Paths under `hostDirs` that the image owns and `rootfs` replaces (e.g. /usr/local, whose
   * host contents are hidden; /etc/passwd with the image's users).
   */
  shadowed: string[];
  exposedPorts: string[];
  stopSignal?: string;
  labels: Record<string, string>;
  volumes: string[];
  /** The cache key: a hash of the Dockerfile, the files it copies and the bases it uses. */
  key: string;
  /** What an image built FROM this one inherits from its base (see third-party-images.ts). */
  base: { ownedDirs: string[]; debianFromHost: boolean; description: string };
}

/**
 * The argv a container runs, by Kubernetes' rules: `command` replaces the ENTRYPOINT (and drops
 * the CMD), `args` replaces the CMD.
 */
export function containerArgv(
  layout: Pick<ImageLayout, 'entrypoint' | 'cmd'>,
  override: { command?: string[]; args?: string[] } = {},
): string[] {
  if (override.command && override.command.length > 0)
    return [...override.command, ...(override.args ?? [])];
  return [...layout.entrypoint, ...(override.args ?? layout.cmd)];
}
