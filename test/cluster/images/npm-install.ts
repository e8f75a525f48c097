// `RUN npm install <flags> <package specs>` (the bake Dockerfiles of infra/manifests/artifacts.ts
// install one server package into the runner's /srv/mcp), run for real with the stage's own node
// and npm, cached: the result (package.json, package-lock.json, node_modules) is keyed by the
// flags, the files already in the working directory, the npm_config_* variables of the stage and
// the node and npm versions, and hard-linked into the stage.
import { createHash } from 'node:crypto';
import { copyFileSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { ensureDir, once } from './cache.ts';
import { lstatOrUndefined, linkTree } from './fsops.ts';
import { exec, type Host } from './host-tools.ts';
import { buildNetworkEnv } from './npm-ci.ts';
import type { Stage } from './stage.ts';
import { stageVars } from './stage.ts';
import { resolve, which } from './stage-view.ts';

export async function npmInstall(
  stage: Stage,
  host: Host,
  argv: string[],
  cwd: string,
): Promise<void> {
  const vars = stageVars(stage);
  const pathVar = vars.get('PATH') ?? '';
  const npm = which(stage, 'npm', pathVar);
  const node = which(stage, 'node', pathVar);
  if (!npm) throw new Error("npm: not found on the stage's PATH");
  if (!node) throw new Error("node: not found on the stage's PATH (npm's #!/usr/bin/env node)");
  // npm installs into the nearest ancestor holding package.json or node_modules; on the host the
  // ancestors are the cache's, so the stage's own must have none for the result to be the same.
  for (let dir = posix.dirname(stage.workingDir); ; dir = posix.dirname(dir)) {
    for (const name of ['package.json', 'node_modules'])
      if (lstatOrUndefined(resolve(stage, posix.join(dir, name)).hostPath))
        throw new Error(
          `${posix.join(dir, name)} exists above ${stage.workingDir}: npm would install there; the materializer does not model that`,
        );
    if (dir === '/') break;
  }

  const files = readdirSync(cwd)
    .filter((name) => name !== 'node_modules' && lstatSync(join(cwd, name)).isFile())
    .sort();
  const hash = createHash('sha256').update(`npm-install v1\0${argv.join('\0')}\0`);
  hash.update(`${node.hostPath}\0${npm.hostPath}\0${process.arch}\0`);
  for (const name of files) hash.update(`${name}\0`).update(readFileSync(join(cwd, name)));
  for (const [k, v] of vars) if (/^(NODE_ENV|npm_config_)/i.test(k)) hash.update(`${k}=${v}\0`);
  const dir = join(host.cacheRoot, 'npm-install', hash.digest('hex').slice(0, 24));

  await once(dir, () =>
    ensureDir(dir, async (tmp) => {
      host.log(`npm ${argv.join(' ')} in ${stage.workingDir} (cold: from the npm registry)`);
      const started = Date.now();
      for (const name of files) copyFileSync(join(cwd, name), join(tmp, name));
      const env: Record<string, string> = {
        ...buildNetworkEnv(),
        ...Object.fromEntries(vars),
        PATH: `${dirname(node.hostPath)}:${process.env.PATH ?? ''}`,
        // The download cache is build-time only (the Dockerfile removes it from the image).
        HOME: process.env.HOME ?? '/root',
        npm_config_cache: join(process.env.HOME ?? '/root', '.npm'),
        npm_config_update_notifier: 'false',
      };
      await exec(node.hostPath, [npm.hostPath, ...argv, '--prefix', tmp], {
        cwd: tmp,
        env,
        what: `npm ${argv.join(' ')}`,
      });
      host.log(`npm install done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }),
  );
  for (const name of readdirSync(dir)) linkTree(join(dir, name), join(cwd, name));
}
