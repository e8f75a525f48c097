// `RUN npm ci <flags>`, run for real with the stage's own node and npm, cached: the result
// (node_modules) is keyed by a hash of the files in the working directory (package.json,
// package-lock.json, .npmrc...), the flags, and the node and npm versions, and hard-linked into
// the stage.
import { createHash } from 'node:crypto';
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ensureDir, once } from './cache.ts';
import { lstatOrUndefined, linkTree } from './fsops.ts';
import { exec, type Host } from './host-tools.ts';
import type { Stage } from './stage.ts';
import { stageVars } from './stage.ts';
import { which } from './stage-view.ts';

export async function npmCi(stage: Stage, host: Host, argv: string[], cwd: string): Promise<void> {
  const vars = stageVars(stage);
  const pathVar = vars.get('PATH') ?? '';
  const npm = which(stage, 'npm', pathVar);
  const node = which(stage, 'node', pathVar);
  if (!npm) throw new Error("npm: not found on the stage's PATH");
  if (!node) throw new Error("node: not found on the stage's PATH (npm's #!/usr/bin/env node)");
  if (
    !lstatOrUndefined(join(cwd, 'package-lock.json')) &&
    !lstatOrUndefined(join(cwd, 'npm-shrinkwrap.json'))
  )
    throw new Error(`npm ci needs package-lock.json in ${stage.workingDir}`);

  const hash = createHash('sha256').update(`npm-ci v1\0${argv.join('\0')}\0`);
  hash.update(`${node.hostPath}\0${npm.hostPath}\0${process.arch}\0`);
  const files = [
    ...readdirSync(cwd).filter(
      (name) => name !== 'node_modules' && lstatSync(join(cwd, name)).isFile(),
    ),
    ...workspaceManifests(cwd),
  ].sort();
  for (const name of files)
    hash
      .update(`${name}\0`)
      .update(readFileSync(join(cwd, name)))
      .update('\0');
  for (const [k, v] of vars) if (/^(NODE_ENV|npm_config_)/i.test(k)) hash.update(`${k}=${v}\0`);
  const key = hash.digest('hex').slice(0, 24);
  const dir = join(host.cacheRoot, 'npm-ci', key);

  await once(dir, () =>
    ensureDir(dir, async (tmp) => {
      host.log(
        `npm ${argv.join(' ')} in ${stage.workingDir} (cold: installs from the npm registry)`,
      );
      const started = Date.now();
      for (const name of files) {
        mkdirSync(dirname(join(tmp, name)), { recursive: true });
        copyFileSync(join(cwd, name), join(tmp, name));
      }
      await exec(node.hostPath, [npm.hostPath, ...argv], {
        cwd: tmp,
        env: {
          ...buildNetworkEnv(),
          ...Object.fromEntries(vars),
          // npm's lifecycle scripts run `node`: the stage's.
          PATH: `${dirname(node.hostPath)}:${process.env.PATH ?? ''}`,
          // The npm download cache is build-time only (it never lands in the image).
          HOME: process.env.HOME ?? '/root',
          npm_config_update_notifier: 'false',
        },
        what: `npm ${argv.join(' ')}`,
      });
      host.log(`npm ${argv[0]} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }),
  );
  if (lstatOrUndefined(join(dir, 'node_modules')))
    linkTree(join(dir, 'node_modules'), join(cwd, 'node_modules'));
}

/**
 * The package.json of each npm workspace the stage's package.json names (`workspaces`), where
 * the Dockerfile copied one: npm ci needs them to resolve the lock, as in a real build.
 */
function workspaceManifests(cwd: string): string[] {
  const root = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as {
    workspaces?: string[];
  };
  return (root.workspaces ?? [])
    .map((dir) => join(dir, 'package.json'))
    .filter((file) => lstatOrUndefined(join(cwd, file))?.isFile());
}

/**
 * The build machine's network settings (a CA bundle for an intercepting proxy, proxies), which
 * a `docker build` on this machine would need as well. They never reach the image.
 */
export function buildNetworkEnv(): Record<string, string> {
  const names =
    /^(NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|(HTTPS?|NO|ALL)_PROXY|npm_config_(cafile|registry|proxy|https_proxy))$/i;
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => names.test(e[0]) && e[1] !== undefined,
    ),
  );
}
