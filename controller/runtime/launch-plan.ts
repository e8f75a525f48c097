// Turns a spec's local launch plan into an exact command line for this machine, or the
// reason it cannot run here. npm packages installed in the project's node_modules at the
// spec's version run as `node <bin>`, PyPI packages installed ahead of time by `mcpfleet
// registry install` run as their entry point (no npx/uvx, no network on the wake path);
// anything else runs through the plan's command if its required executables are on PATH.
// `$(VAR)` references (Kubernetes syntax for secrets) are expanded from the server's own
// variables only, and never onto a command line (variable-references.ts); secrets are read
// from the controller's environment, each under its own name, and only those the spec declares.
import { accessSync, constants, mkdirSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_DIR_VARIABLE, type WorkloadSpec } from '../../registry/catalog/spec.ts';
import { pythonTools } from './python-tools.ts';
import { VariableReferences } from './variable-references.ts';

export interface ResolvedLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** How it was resolved, for logs: "installed npm package" or "plan command". */
  via: 'installed-package' | 'plan-command';
}

export type LaunchResolution = { ok: true; launch: ResolvedLaunch } | { ok: false; reason: string };

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function resolveLaunch(
  spec: WorkloadSpec,
  environment: NodeJS.ProcessEnv = process.env,
  projectRoot: string = PROJECT_ROOT,
): LaunchResolution {
  const plan = spec.local;
  if (!plan.runnable) return { ok: false, reason: plan.reason };

  const values: Record<string, string> = { ...spec.env };
  if (spec.storage) values[DATA_DIR_VARIABLE] = serverDataDir(spec.slug, environment);
  const missing: string[] = [];
  for (const ref of spec.secretEnv) {
    const value = environment[ref.env];
    if (value === undefined || value === '') missing.push(ref.env);
    values[ref.env] = value ?? '';
  }
  const references = new VariableReferences(
    values,
    spec.secretEnv.map((ref) => ref.env),
  );
  const env = references.environment();
  const expandArgs = (args: readonly string[]): string[] => references.arguments(args);

  const installedBin = plan.npmPackage
    ? installedPackageBin(plan.npmPackage.name, plan.npmPackage.version, projectRoot)
    : undefined;
  const installedTool = plan.pythonPackage
    ? pythonTools(projectRoot).installed(plan.pythonPackage.name, plan.pythonPackage.version)
    : undefined;
  let launch: ResolvedLaunch;
  if (installedTool) {
    launch = { command: installedTool, args: expandArgs(spec.args), env, via: 'installed-package' };
  } else if (installedBin) {
    launch = {
      command: process.execPath,
      args: [installedBin, ...expandArgs(spec.args)],
      env,
      via: 'installed-package',
    };
  } else {
    const absent = plan.requires.filter((exe) => !onPath(exe, environment.PATH ?? ''));
    if (absent.length > 0) {
      const pkg = plan.npmPackage
        ? ` (or install ${plan.npmPackage.name}@${plan.npmPackage.version} locally)`
        : plan.pythonPackage
          ? ' (or run `npx mcpfleet registry install` to install it ahead of time)'
          : '';
      return { ok: false, reason: `needs ${absent.join(', ')} on PATH${pkg}` };
    }
    launch = { command: plan.command, args: expandArgs(plan.args), env, via: 'plan-command' };
  }
  const unresolved = references.reason();
  if (unresolved !== undefined) return { ok: false, reason: unresolved };
  if (missing.length > 0) {
    const names = [...new Set(missing)].join(', ');
    return { ok: false, reason: `needs the secret environment variable(s) ${names}` };
  }
  return { ok: true, launch };
}

/** Where servers with `storage` keep their files on this machine, one folder per server. */
export const SERVER_DATA_ROOT_VARIABLE = 'MCPFLEET_SERVER_DATA_DIR';
const DEFAULT_SERVER_DATA_ROOT = '.mcpfleet/servers';

/**
 * The folder behind $(MCPFLEET_DATA_DIR) for one server (created, private to this user): the
 * laptop's stand-in for the cluster's volume, so the files survive sleeps and restarts too.
 */
export function serverDataDir(slug: string, environment: NodeJS.ProcessEnv): string {
  const root = environment[SERVER_DATA_ROOT_VARIABLE] || DEFAULT_SERVER_DATA_ROOT;
  const dir = resolve(root, slug);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** The bin script of `name` installed at exactly `version`, or undefined. */
export function installedPackageBin(
  name: string,
  version: string,
  projectRoot: string,
): string | undefined {
  const manifestPath = join(projectRoot, 'node_modules', name, 'package.json');
  let manifest: { version?: string; bin?: string | Record<string, string> };
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as typeof manifest;
  } catch {
    return undefined;
  }
  if (manifest.version !== version || manifest.bin === undefined) return undefined;
  let bin: string | undefined;
  if (typeof manifest.bin === 'string') bin = manifest.bin;
  else {
    const entries = Object.entries(manifest.bin);
    const unscoped = name.split('/').pop() ?? name;
    bin =
      (entries.length === 1 ? entries[0]?.[1] : undefined) ??
      manifest.bin[unscoped] ??
      entries[0]?.[1];
  }
  return bin === undefined ? undefined : join(dirname(manifestPath), bin);
}

function onPath(executable: string, pathValue: string): boolean {
  if (executable.includes('/')) return isExecutable(executable);
  return pathValue
    .split(delimiter)
    .some((dir) => dir !== '' && isExecutable(join(dir, executable)));
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
