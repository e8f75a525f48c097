// What the kubelet needs from a container runtime: resolve an image to its config, start a
// container's main process, and run a command inside a running container (exec probes).
// Implementations: imageStarter() (image layouts from test/cluster/images) and hostStarter()
// (host commands, for tests that need no image).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface ImageConfig {
  ref: string;
  /** Reported as containerStatuses[].imageID. */
  imageID: string;
  /** The image's Env, in order. */
  env: [string, string][];
  workingDir: string;
  /** The image's USER (name, uid, or uid:gid); '' for root. */
  user: string;
  entrypoint: string[];
  cmd: string[];
}

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

export interface ContainerProcessSpec {
  argv: string[];
  /** The final environment (image env overlaid by the container's). */
  env: Map<string, string>;
  /** Empty: the image's WorkingDir. */
  workingDir: string;
  /** securityContext runAsUser / runAsGroup; undefined: the image's USER. */
  uid: number | undefined;
  gid: number | undefined;
  supplementalGroups: number[];
  mounts: Mount[];
  /** /run/netns/<name>; undefined: the host network (hostNetwork pods). */
  netnsPath: string | undefined;
  hostname: string;
  /** securityContext.readOnlyRootFilesystem */
  readOnlyRootFilesystem: boolean;
  /** securityContext.allowPrivilegeEscalation: false */
  noNewPrivileges: boolean;
  /** Where the process writes its stdout and stderr: file descriptors, or pipes to the kubelet. */
  stdout: number | 'pipe';
  stderr: number | 'pipe';
}

export interface ExecResult {
  exitCode: number | null;
  output: string;
  timedOut: boolean;
}

export interface ContainerStarter {
  resolveImage(ref: string, arch: string): Promise<ImageConfig>;
  /**
   * The directory holding an image's files, for an `image` volume (KEP-4639: the image
   * mounted read-only into a container). Undefined: this starter has no image filesystems.
   */
  imageVolume?(ref: string): Promise<string>;
  /**
   * Starts the container's main process as the leader of a new process group (the kubelet
   * signals the whole group); its stdout/stderr go to spec.stdout/spec.stderr.
   */
  start(image: ImageConfig, spec: ContainerProcessSpec): ChildProcess;
  /** Runs argv inside the running container (its mount and network namespaces, its user). */
  exec(
    image: ImageConfig,
    container: { pid: number; spec: ContainerProcessSpec },
    argv: string[],
    timeoutMs: number,
  ): Promise<ExecResult>;
}

/** Waits for a process with piped stdout/stderr, collecting both (capped), killing it on timeout. */
export function collect(child: ChildProcess, timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve) => {
    let output = '';
    const append = (chunk: Buffer): void => {
      if (output.length < 64 * 1024) output += chunk.toString('utf8');
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ exitCode: null, output: String(err), timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code, output, timedOut });
    });
  });
}

/** Absolute paths of util-linux tools: the container's PATH need not contain them. */
export const tool = (name: string): string =>
  ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].map((dir) => `${dir}/${name}`).find(existsSync) ??
  name;

const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * The in-namespace part shared by hostStarter's start and exec: bind the mounts (a private mount
 * namespace keeps them from the host), enter the working directory, drop to the user, exec argv.
 */
function launchScript(spec: ContainerProcessSpec): string {
  const lines = ['set -e'];
  for (const mount of spec.mounts) {
    const target = shellQuote(mount.target);
    lines.push(
      `if [ -d ${shellQuote(mount.source)} ]; then mkdir -p ${target}; ` +
        `else mkdir -p "$(dirname ${target})"; [ -e ${target} ] || : > ${target}; fi`,
      `mount --bind ${shellQuote(mount.source)} ${target}`,
    );
    if (mount.readOnly) lines.push(`mount -o remount,bind,ro ${target}`);
  }
  if (spec.workingDir)
    lines.push(`mkdir -p ${shellQuote(spec.workingDir)} && cd ${shellQuote(spec.workingDir)}`);
  return lines.join('\n');
}

function privilegeArgs(spec: ContainerProcessSpec, image: ImageConfig): string[] {
  const [userPart, groupPart] = image.user.split(':');
  const uid = spec.uid ?? (userPart && /^\d+$/.test(userPart) ? Number(userPart) : 0);
  const gid =
    spec.gid ?? (groupPart && /^\d+$/.test(groupPart) ? Number(groupPart) : uid === 0 ? 0 : uid);
  if (uid === 0 && gid === 0 && !spec.supplementalGroups.length) return [];
  const groups = spec.supplementalGroups.length
    ? [`--groups=${spec.supplementalGroups.join(',')}`]
    : ['--clear-groups'];
  return [tool('setpriv'), `--reuid=${uid}`, `--regid=${gid}`, ...groups, '--'];
}

export interface HostStarterOptions {
  /** Image configs by ref; unknown refs get an empty config (argv must come from the pod). */
  images?: Record<string, Partial<ImageConfig>>;
}

/**
 * Runs containers as host processes: the pod's network namespace (nsenter), a private mount
 * namespace for the volume binds (unshare), the user from securityContext (setpriv). There is no
 * image filesystem: mount targets that do not exist are created on the host.
 */
export function hostStarter(options: HostStarterOptions = {}): ContainerStarter {
  return {
    async resolveImage(ref) {
      const config = options.images?.[ref] ?? {};
      return {
        ref,
        imageID: config.imageID ?? `host://${ref}`,
        env: config.env ?? [['PATH', process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin']],
        workingDir: config.workingDir ?? '',
        user: config.user ?? '',
        entrypoint: config.entrypoint ?? [],
        cmd: config.cmd ?? [],
      };
    },
    start(image, spec) {
      const netns = spec.netnsPath ? [tool('nsenter'), `--net=${spec.netnsPath}`, '--'] : [];
      const script = `${launchScript(spec)}\nexec "$@"`;
      const argv = [
        ...netns,
        tool('unshare'),
        '--mount',
        '--propagation',
        'private',
        '--',
        '/bin/sh',
        '-c',
        script,
        'container',
        ...privilegeArgs(spec, image),
        ...spec.argv,
      ];
      return spawn(argv[0]!, argv.slice(1), {
        env: Object.fromEntries(spec.env),
        stdio: ['ignore', spec.stdout, spec.stderr],
        detached: true,
      });
    },
    exec(image, container, argv, timeoutMs) {
      const args = [
        `--target=${container.pid}`,
        '--mount',
        '--net',
        '--',
        ...privilegeArgs(container.spec, image),
        ...argv,
      ];
      const cwd = container.spec.workingDir;
      const env = Object.fromEntries(container.spec.env);
      if (cwd) args.splice(2, 0, `--wd=${cwd}`);
      return collect(
        spawn(tool('nsenter'), args, { env, stdio: ['ignore', 'pipe', 'pipe'] }),
        timeoutMs,
      );
    },
  };
}
