// materializeImage: an image as a directory, by following its own Dockerfile. FROM a
// third-party image takes that image's stand-in (third-party-images.ts); COPY copies from the
// build context (the repository root, .dockerignore honoured) or from an earlier stage; RUN runs
// the known steps for real (run-steps.ts); ENV, WORKDIR, USER, ENTRYPOINT, CMD... are recorded.
// A file the Dockerfile forgets to COPY is missing here exactly as in the real image.
//
// Layouts are cached under `${XDG_CACHE_HOME:-~/.cache}/mcpfleet/images/layouts/<key>`, the key
// a hash of the Dockerfile, every file it copies and the stand-ins it is built on, so a warm
// run only hashes the copied files.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, posix, relative, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDir, imageCacheRoot, once, stderrLog, type Log } from './cache.ts';
import {
  contextSources,
  copyFromContext,
  hashContextPath,
  openContext,
  type BuildContext,
} from './context.ts';
import { readDockerfile, where, type Dockerfile, type Instruction } from './dockerfile.ts';
import {
  isRoot,
  linkContents,
  linkTree,
  lstatOrUndefined,
  mkdirExact,
  unshareInode,
} from './fsops.ts';
import type { Host } from './host-tools.ts';
import type { ImageLayout, Mount } from './layout.ts';
import { ourDockerfile, ourImages } from './our-images.ts';
import { parseOwner, runInstruction } from './run-steps.ts';
import { stageVars, writablePath, type Stage } from './stage.ts';
import { resolve, under } from './stage-view.ts';
import {
  describeThirdPartyImages,
  normalizeRef,
  thirdPartyImage,
  type BaseImage,
} from './third-party-images.ts';
import { dockerfileWord, dockerfileWords } from './words.ts';

/** The format of layout.json. */
const MATERIALIZER_VERSION = 'materialize v1';

/**
 * The materializer's own code (this folder, entrypoint scripts included) is part of every key:
 * a change to how images are built rebuilds them. run-in-image.ts only runs them.
 */
const MATERIALIZER_CODE = (() => {
  const hash = createHash('sha256');
  const dir = fileURLToPath(new URL('.', import.meta.url));
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = join(rel, name);
      if (statSync(join(dir, path)).isDirectory()) walk(path);
      else if (name !== 'run-in-image.ts')
        hash.update(`${path}\0`).update(readFileSync(join(dir, path)));
    }
  };
  walk('');
  return hash.digest('hex');
})();

export interface MaterializeOptions {
  /** The checkout (default: the one this file is in). */
  repoRoot?: string;
  /** The build context for COPY (default: repoRoot). */
  context?: string;
  /** Build `ref` from this Dockerfile instead of the one the stack config maps it to. */
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  /** Default `${XDG_CACHE_HOME:-~/.cache}/mcpfleet/images`. */
  cacheDir?: string;
  /** Progress of slow steps (default: stderr). */
  log?: Log;
}

const THIS_CHECKOUT = resolvePath(fileURLToPath(new URL('../../..', import.meta.url)));

export async function materializeImage(
  ref: string,
  options: MaterializeOptions = {},
): Promise<ImageLayout> {
  const repoRoot = options.repoRoot ?? THIS_CHECKOUT;
  const host: Host = {
    repoRoot,
    cacheRoot: imageCacheRoot(options.cacheDir),
    log: options.log ?? stderrLog,
  };
  const build: Build = {
    host,
    options: { ...options, repoRoot },
    buildArgs: new Map(Object.entries(options.buildArgs ?? {})),
  };
  const dockerfilePath =
    options.dockerfile ??
    (() => {
      const ours = ourDockerfile(repoRoot, ref);
      return ours && join(repoRoot, ours.dockerfile);
    })();
  if (dockerfilePath) {
    const context = openContext(options.context ?? repoRoot, dockerfilePath);
    const dockerfile = readDockerfile(
      relativeName(repoRoot, dockerfilePath),
      readFileSync(dockerfilePath, 'utf8'),
    );
    return materializeDockerfile(build, ref, dockerfile, context);
  }
  if (thirdPartyImage(ref, host)) {
    const dockerfile = readDockerfile(`(the ${normalizeRef(ref)} image)`, `FROM ${ref}\n`);
    return materializeDockerfile(build, ref, dockerfile, openContext(repoRoot));
  }
  throw new Error(unknownImage(ref, repoRoot));
}

function unknownImage(ref: string, repoRoot: string): string {
  const ours = ourImages(repoRoot)
    .map((i) => `- ${i.repository}:* (${i.source}) → ${i.dockerfile}`)
    .join('\n');
  return (
    `no way to materialize the image ${ref}: it is neither one of ours (built from infra/images/*.Dockerfile)\n${ours}\n` +
    `nor in the table of third-party images (test/cluster/images/third-party-images.ts)\n${describeThirdPartyImages()}`
  );
}

function relativeName(repoRoot: string, path: string): string {
  const rel = relative(repoRoot, resolvePath(path));
  return rel.startsWith('..') ? resolvePath(path) : rel;
}

interface Build {
  host: Host;
  options: MaterializeOptions & { repoRoot: string };
  buildArgs: Map<string, string>;
}

async function materializeDockerfile(
  build: Build,
  ref: string,
  dockerfile: Dockerfile,
  context: BuildContext,
): Promise<ImageLayout> {
  const key = await planKey(build, dockerfile, context);
  const dir = join(build.host.cacheRoot, 'layouts', key);
  return once(dir, async () => {
    let layout = loadLayout(dir, ref);
    if (!layout) {
      rmSync(dir, { recursive: true, force: true });
      const started = Date.now();
      build.host.log(`materializing ${ref} from ${dockerfile.path}`);
      await ensureDir(dir, (tmp) => buildLayout(build, ref, dockerfile, context, key, tmp));
      build.host.log(`materialized ${ref} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      pruneLayouts(build.host.cacheRoot, key);
      layout = loadLayout(dir, ref);
      if (!layout) throw new Error(`${dir}: the layout just built is not usable`);
    }
    return layout;
  });
}

type StoredLayout = Omit<ImageLayout, 'ref' | 'rootfs'> & { version: string };

function loadLayout(dir: string, ref: string): ImageLayout | undefined {
  const file = join(dir, 'layout.json');
  if (!existsSync(file)) return undefined;
  const stored = JSON.parse(readFileSync(file, 'utf8')) as StoredLayout;
  if (stored.version !== MATERIALIZER_VERSION) return undefined;
  // Host stand-ins can disappear (a reinstalled node_modules): rebuild rather than fail later.
  if (!stored.baseMounts.every((m) => existsSync(m.source))) return undefined;
  const now = new Date();
  utimesSync(file, now, now);
  const { version: _version, ...layout } = stored;
  return { ref, rootfs: join(dir, 'rootfs'), ...layout };
}

/** Layouts not used for a week go (they are rebuilt on demand). */
function pruneLayouts(cacheRoot: string, keep: string): void {
  const root = join(cacheRoot, 'layouts');
  const weekAgo = Date.now() - 7 * 24 * 3600 * 1000;
  for (const name of readdirSync(root)) {
    if (name === keep || name.includes('.tmp-')) continue;
    const stat = lstatOrUndefined(join(root, name, 'layout.json'));
    if (stat && stat.mtimeMs < weekAgo) rmSync(join(root, name), { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The cache key: what the Dockerfile says, what it copies, and what it is built on.

interface VarsState {
  args: Map<string, string>;
  env: Map<string, string>;
}

async function planKey(
  build: Build,
  dockerfile: Dockerfile,
  context: BuildContext,
): Promise<string> {
  return (await plan(build, dockerfile, context)).key;
}

async function plan(
  build: Build,
  dockerfile: Dockerfile,
  context: BuildContext,
): Promise<{ key: string; env: Map<string, string> }> {
  const hash = createHash('sha256');
  hash.update(
    `${MATERIALIZER_VERSION}\0${MATERIALIZER_CODE}\0${dockerfile.text}\0${JSON.stringify([...build.buildArgs])}\0`,
  );
  const globalArgs = new Map<string, string>();
  const stages: { name?: string; env: Map<string, string> }[] = [];
  let state: VarsState | undefined;
  const baseEnv = async (image: string, at: string): Promise<Map<string, string>> => {
    const named = stages.find((s) => s.name === image.toLowerCase());
    if (named) return new Map(named.env);
    if (image === 'scratch') return new Map();
    const ours = ourDockerfile(build.options.repoRoot, image);
    if (ours) {
      const path = join(build.options.repoRoot, ours.dockerfile);
      const sub = await plan(
        build,
        readDockerfile(ours.dockerfile, readFileSync(path, 'utf8')),
        openContext(build.options.repoRoot, path),
      );
      hash.update(`base ${sub.key}\0`);
      return sub.env;
    }
    const base = thirdPartyImage(image, build.host);
    if (!base) throw new Error(`${at}: ${unknownImage(image, build.options.repoRoot)}`);
    hash.update(`base ${base.key}\0`);
    return new Map(Object.entries(base.config.env));
  };
  for (const ins of dockerfile.instructions) {
    const at = where(dockerfile, ins);
    if (ins.keyword === 'FROM') {
      const { image, name } = parseFrom(ins, globalArgs);
      state = { args: new Map(), env: await baseEnv(image, at) };
      stages.push({ ...(name ? { name } : {}), env: state.env });
    } else if (ins.keyword === 'ARG') applyArg(build, ins, state, globalArgs);
    else if (!state) throw new Error(`${at}: ${ins.keyword} before the first FROM`);
    else if (ins.keyword === 'ENV') applyEnv(ins, state);
    else if (ins.keyword === 'COPY') {
      const { flags, sources } = parseCopy(ins, state, at);
      const from = flags.get('from');
      if (from === undefined)
        for (const source of sources)
          for (const rel of contextSources(context, source)) {
            hash.update(`copy ${rel}\0`);
            hashContextPath(context, rel, hash);
          }
      else if (!stages.some((s) => s.name === from.toLowerCase()) && !/^\d+$/.test(from))
        await baseEnv(from, at);
    }
  }
  return { key: hash.digest('hex').slice(0, 32), env: state?.env ?? new Map() };
}

// ---------------------------------------------------------------------------------------------
// Following the Dockerfile.

function parseFrom(
  ins: Instruction,
  globalArgs: Map<string, string>,
): { image: string; name?: string } {
  const words = dockerfileWords(ins.text, globalArgs).filter((w) => !w.startsWith('--platform'));
  const [image, as, name] = words;
  if (!image || (as !== undefined && (as.toUpperCase() !== 'AS' || !name)))
    throw new Error(`FROM ${ins.text}: expected FROM <image> [AS <name>]`);
  return { image, ...(name ? { name: name.toLowerCase() } : {}) };
}

function applyArg(
  build: Build,
  ins: Instruction,
  state: VarsState | undefined,
  globalArgs: Map<string, string>,
) {
  const vars = state ? new Map([...state.args, ...state.env]) : globalArgs;
  for (const word of dockerfileWords(ins.text, vars)) {
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    const fallback = eq < 0 ? (state ? globalArgs.get(name) : undefined) : word.slice(eq + 1);
    const value = build.buildArgs.get(name) ?? fallback;
    if (value !== undefined) (state ? state.args : globalArgs).set(name, value);
  }
}

function applyEnv(ins: Instruction, state: VarsState): void {
  const vars = new Map([...state.args, ...state.env]);
  const words = dockerfileWords(ins.text, vars);
  if (words.length > 0 && !words[0]!.includes('=')) {
    // The legacy form: ENV KEY value with spaces.
    const [name, ...rest] = words;
    state.env.set(name!, rest.join(' '));
    return;
  }
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new Error(`ENV ${ins.text}: expected NAME=value`);
    state.env.set(word.slice(0, eq), word.slice(eq + 1));
  }
}

function parseCopy(ins: Instruction, state: VarsState, at: string) {
  const vars = new Map([...state.args, ...state.env]);
  const words = ins.json ?? dockerfileWords(ins.text, vars);
  const flags = new Map<string, string>();
  let i = 0;
  for (; i < words.length && words[i]!.startsWith('--'); i++) {
    const [name, value = 'true'] = words[i]!.slice(2).split(/=(.*)/s);
    if (!['from', 'chown', 'chmod', 'link'].includes(name!))
      throw new Error(`${at}: COPY --${name} is not supported by the image materializer`);
    flags.set(name!, value);
  }
  const rest = words.slice(i);
  if (rest.length < 2) throw new Error(`${at}: COPY needs a source and a destination`);
  return { flags, sources: rest.slice(0, -1), dest: rest[rest.length - 1]! };
}

async function buildLayout(
  build: Build,
  ref: string,
  dockerfile: Dockerfile,
  context: BuildContext,
  key: string,
  tmp: string,
): Promise<void> {
  const stages: Stage[] = [];
  const globalArgs = new Map<string, string>();
  let stage: Stage | undefined;
  let extra = 0;
  for (const ins of dockerfile.instructions) {
    const at = where(dockerfile, ins);
    try {
      if (ins.keyword === 'FROM') {
        const { image, name } = parseFrom(ins, globalArgs);
        stage = await baseStage(build, image, stages, join(tmp, `stage-${stages.length}`), at);
        stage.index = stages.length;
        if (name) stage.name = name;
        stage.args = new Map();
        stages.push(stage);
        continue;
      }
      if (ins.keyword === 'ARG') {
        applyArg(build, ins, stage, globalArgs);
        continue;
      }
      if (!stage) throw new Error(`${ins.keyword} before the first FROM`);
      const vars = stageVars(stage);
      switch (ins.keyword) {
        case 'ENV':
          applyEnv(ins, stage);
          break;
        case 'WORKDIR': {
          const path = posix.resolve(stage.workingDir, dockerfileWord(ins.text, vars));
          mkdirExact(writablePath(stage, path, true));
          stage.workingDir = path;
          break;
        }
        case 'USER':
          stage.user = dockerfileWord(ins.text, vars);
          break;
        case 'COPY': {
          const { flags, sources, dest } = parseCopy(ins, stage, at);
          const from = flags.get('from');
          let source: Stage | undefined;
          if (from !== undefined)
            source =
              stages.find((s) => s.name === from.toLowerCase()) ??
              (/^\d+$/.test(from) ? stages[Number(from)] : undefined) ??
              (await baseStage(build, from, stages, join(tmp, `from-${extra++}`), at));
          copy(stage, context, source, sources, dest, flags);
          break;
        }
        case 'RUN':
          await runInstruction(stage, build.host, ins, at);
          break;
        case 'CMD':
          stage.cmd = ins.json ?? ['/bin/sh', '-c', ins.text];
          stage.cmdFromBase = false;
          break;
        case 'ENTRYPOINT':
          stage.entrypoint = ins.json ?? ['/bin/sh', '-c', ins.text];
          if (stage.cmdFromBase) stage.cmd = [];
          stage.cmdFromBase = false;
          break;
        case 'EXPOSE':
          for (const port of dockerfileWords(ins.text, vars)) {
            const normalized = port.includes('/') ? port : `${port}/tcp`;
            if (!stage.exposedPorts.includes(normalized)) stage.exposedPorts.push(normalized);
          }
          break;
        case 'LABEL':
          for (const word of dockerfileWords(ins.text, vars)) {
            const eq = word.indexOf('=');
            if (eq > 0) stage.labels[word.slice(0, eq)] = word.slice(eq + 1);
          }
          break;
        case 'STOPSIGNAL':
          stage.stopSignal = dockerfileWord(ins.text, vars);
          break;
        case 'VOLUME':
          stage.volumes.push(...(ins.json ?? dockerfileWords(ins.text, vars)));
          break;
        case 'HEALTHCHECK':
        case 'MAINTAINER':
          break;
        default:
          throw new Error(
            `${ins.keyword} is not supported by the image materializer (test/cluster/images/materialize.ts)`,
          );
      }
    } catch (error) {
      const message = (error as Error).message;
      if (message.startsWith(dockerfile.path)) throw error;
      throw new Error(`${at}: ${message}`, { cause: error });
    }
  }
  if (!stage) throw new Error(`${dockerfile.path}: no FROM`);
  const shadowed = shadowedPaths(stage, ref);
  const stored: StoredLayout = {
    version: MATERIALIZER_VERSION,
    key,
    env: Object.fromEntries(stage.env),
    workingDir: stage.workingDir,
    user: numericUser(stage),
    entrypoint: stage.entrypoint,
    cmd: stage.cmd,
    baseMounts: stage.baseMounts,
    hostDirs: stage.hostDirs,
    shadowed,
    exposedPorts: stage.exposedPorts,
    ...(stage.stopSignal ? { stopSignal: stage.stopSignal } : {}),
    labels: stage.labels,
    volumes: stage.volumes,
    base: {
      ownedDirs: stage.ownedDirs,
      debianFromHost: stage.debianFromHost,
      description: stage.base,
    },
  };
  renameSync(stage.rootfs, join(tmp, 'rootfs'));
  for (const name of readdirSync(tmp))
    if (name !== 'rootfs') rmSync(join(tmp, name), { recursive: true, force: true });
  writeFileSync(join(tmp, 'layout.json'), `${JSON.stringify(stored, null, 2)}\n`);
}

/** A new stage FROM `image`: an earlier stage, scratch, one of our images, or a third-party one. */
async function baseStage(
  build: Build,
  image: string,
  stages: Stage[],
  dir: string,
  at: string,
): Promise<Stage> {
  const empty = (): Stage => ({
    index: 0,
    rootfs: dir,
    baseMounts: [],
    hostDirs: [],
    ownedDirs: [],
    debianFromHost: false,
    env: new Map(),
    args: new Map(),
    workingDir: '/',
    user: '',
    entrypoint: [],
    cmd: [],
    cmdFromBase: true,
    exposedPorts: [],
    labels: {},
    volumes: [],
    base: image,
  });
  const named = stages.find((s) => s.name === image.toLowerCase());
  if (named) {
    linkTree(named.rootfs, dir);
    return {
      ...structuredClone(named),
      args: new Map(),
      rootfs: dir,
      cmdFromBase: true,
      base: image,
    };
  }
  if (image === 'scratch') {
    mkdirSync(dir, { recursive: true });
    return empty();
  }
  if (ourDockerfile(build.options.repoRoot, image)) {
    const layout = await materializeImage(image, {
      ...build.options,
      dockerfile: undefined,
      context: undefined,
    });
    linkTree(layout.rootfs, dir);
    return {
      ...empty(),
      baseMounts: structuredClone(layout.baseMounts),
      hostDirs: [...layout.hostDirs],
      ownedDirs: [...layout.base.ownedDirs],
      debianFromHost: layout.base.debianFromHost,
      env: new Map(Object.entries(layout.env)),
      workingDir: layout.workingDir,
      user: layout.user,
      entrypoint: [...layout.entrypoint],
      cmd: [...layout.cmd],
      exposedPorts: [...layout.exposedPorts],
      ...(layout.stopSignal ? { stopSignal: layout.stopSignal } : {}),
      labels: { ...layout.labels },
      volumes: [...layout.volumes],
    };
  }
  const base: BaseImage | undefined = thirdPartyImage(image, build.host);
  if (!base) throw new Error(`${at}: ${unknownImage(image, build.options.repoRoot)}`);
  mkdirExact(dir);
  const { hostDirs, baseMounts } = await base.build(dir);
  const c = base.config;
  return {
    ...empty(),
    baseMounts,
    hostDirs,
    ownedDirs: base.ownedDirs,
    debianFromHost: base.debianFromHost,
    env: new Map(Object.entries(c.env)),
    workingDir: c.workingDir,
    user: c.user,
    entrypoint: [...c.entrypoint],
    cmd: [...c.cmd],
    exposedPorts: [...c.exposedPorts],
    ...(c.stopSignal ? { stopSignal: c.stopSignal } : {}),
    labels: { ...c.labels },
    volumes: [...c.volumes],
  };
}

/** COPY [--from=<stage>] [--chown=u:g] [--chmod=mode] <src>... <dest>, with Docker's rules. */
function copy(
  stage: Stage,
  context: BuildContext,
  from: Stage | undefined,
  sources: string[],
  dest: string,
  flags: Map<string, string>,
): void {
  const destPath = posix.resolve(stage.workingDir, dest);
  const destIsDir =
    dest.endsWith('/') ||
    sources.length > 1 ||
    lstatOrUndefined(resolve(stage, destPath, '/', true).hostPath)?.isDirectory() === true;
  const created: string[] = [];
  const targetFor = (isDir: boolean, name: string): string =>
    isDir ? destPath : destIsDir ? posix.join(destPath, name) : destPath;

  if (!from) {
    for (const source of sources)
      for (const rel of contextSources(context, source)) {
        const isDir = statSync(join(context.root, rel)).isDirectory();
        const target = targetFor(isDir, posix.basename(rel));
        dropMountsAt(stage, target);
        created.push(...copyFromContext(context, rel, writablePath(stage, target, isDir)));
      }
  } else {
    for (const source of sources) {
      const src = resolve(from, posix.resolve('/', source));
      const stat = lstatOrUndefined(src.hostPath);
      if (!stat)
        throw new Error(`COPY --from=${from.name ?? from.base} ${source}: not found in that stage`);
      const isDir = stat.isDirectory();
      const target = targetFor(isDir, posix.basename(src.path));
      if (src.kind === 'mount') {
        // A host stand-in of the source stage: the same host file stands in here too.
        stage.baseMounts = stage.baseMounts.filter((m) => !under(m.target, target));
        const placeholder = writablePath(stage, target);
        stage.baseMounts.push({ source: src.hostPath, target });
        if (isDir) mkdirExact(placeholder);
        else if (!lstatOrUndefined(placeholder)) {
          mkdirExact(dirname(placeholder));
          writeFileSync(placeholder, '');
        }
        continue;
      }
      dropMountsAt(stage, target);
      const to = writablePath(stage, target, isDir);
      if (isDir) linkContents(src.hostPath, to);
      else linkTree(src.hostPath, to);
      created.push(to);
      // Stand-ins below a copied directory come along, at their new place.
      if (isDir)
        for (const m of from.baseMounts)
          if (under(m.target, src.path) && m.target !== src.path)
            stage.baseMounts.push({
              source: m.source,
              target: posix.join(target, m.target.slice(src.path.length)),
            });
    }
  }
  const chown = flags.get('chown');
  const chmod = flags.get('chmod');
  if (!chown && !chmod) return;
  const owner = chown ? parseOwner(stage, chown) : {};
  for (const top of created)
    walkTree(top, (path) => {
      const st = lstatSync(path);
      if (st.isSymbolicLink()) return;
      unshareInode(path);
      if (chmod) chmodSync(path, parseInt(chmod, 8));
      if (chown && isRoot) lchownSync(path, owner.uid ?? 0, owner.gid ?? owner.uid ?? 0);
    });
}

function walkTree(path: string, visit: (path: string) => void): void {
  visit(path);
  if (lstatSync(path).isDirectory())
    for (const name of readdirSync(path)) walkTree(join(path, name), visit);
}

function dropMountsAt(stage: Stage, target: string): void {
  stage.baseMounts = stage.baseMounts.filter((m) => m.target !== target);
}

/**
 * The image's files under host directories (the OS stand-in): allowed only in directories the
 * base owns (replacing the host's wholesale) and as files replacing host files.
 */
function shadowedPaths(stage: Stage, ref: string): string[] {
  const shadowed: string[] = [];
  for (const hostDir of stage.hostDirs) {
    const inRootfs = join(stage.rootfs, hostDir);
    if (!lstatOrUndefined(inRootfs)?.isDirectory()) continue;
    for (const name of readdirSync(inRootfs).sort()) {
      const path = posix.join(hostDir, name);
      const mine = lstatSync(join(stage.rootfs, path));
      const hosts = lstatOrUndefined(path);
      const ok = mine.isDirectory()
        ? stage.ownedDirs.includes(path) && hosts?.isDirectory()
        : hosts !== undefined && !hosts.isDirectory();
      if (!ok)
        throw new Error(
          `${ref}: the image has ${path}, but ${hostDir} is this host's (it stands in for the base image's OS and is mounted read-only); ` +
            `only ${stage.ownedDirs.join(', ') || 'nothing'} there, and files replacing the host's, can belong to the image`,
        );
      shadowed.push(path);
    }
  }
  return shadowed;
}

/** USER as numeric uid:gid, names resolved through the image's /etc/passwd. */
function numericUser(stage: Stage): string {
  const user = stage.user || '0';
  const [name, group] = user.split(':');
  const { uid } = parseOwner(stage, name!);
  let gid = group !== undefined ? parseOwner(stage, `:${group}`).gid : undefined;
  if (gid === undefined) {
    const passwd = resolve(stage, '/etc/passwd').hostPath;
    const line = existsSync(passwd)
      ? readFileSync(passwd, 'utf8')
          .split('\n')
          .find((l) => l.split(':')[2] === String(uid))
      : undefined;
    gid = line ? Number(line.split(':')[3]) : 0;
  }
  return `${uid ?? 0}:${gid}`;
}

export type { ImageLayout, Mount };
