// How each registry type's package is launched: the runner command in a pod (before the
// package's own arguments) and the plan for a laptop's local runtime (its command, what it
// needs on PATH, the package it can install ahead of time), or why it cannot run there.
import type { Package } from './official-schema.ts';
import type { LocalLaunch } from './spec.ts';

/** The runner command (before the package's own args) and the laptop launch plan. */
export function launchOf(
  pkg: Package,
  runtimeArgs: string[],
  packageArgs: string[],
): { command: string[]; local: LocalLaunch } {
  const version = pkg.version as string;
  switch (pkg.registryType) {
    case 'npm': {
      const command = ['npx', ...runtimeArgs, '--yes', `${pkg.identifier}@${version}`];
      return {
        command,
        local: {
          runnable: true,
          command: 'npx',
          args: [...command.slice(1), ...packageArgs],
          npmPackage: { name: pkg.identifier, version },
          requires: ['npx'],
        },
      };
    }
    case 'pypi': {
      const command = ['uvx', ...runtimeArgs, `${pkg.identifier}==${version}`];
      return {
        command,
        local: {
          runnable: true,
          command: 'uvx',
          args: [...command.slice(1), ...packageArgs],
          // Runtime arguments (e.g. --from, --with) change what uvx runs: no shortcut then.
          ...(runtimeArgs.length === 0 ? { pythonPackage: { name: pkg.identifier, version } } : {}),
          requires: ['uvx'],
        },
      };
    }
    case 'nuget': {
      const command = ['dnx', ...runtimeArgs, `${pkg.identifier}@${version}`, '--yes', '--'];
      return {
        command,
        local: {
          runnable: true,
          command: 'dnx',
          args: [...command.slice(1), ...packageArgs],
          requires: ['dnx'],
        },
      };
    }
    case 'oci':
      return {
        command: [],
        local: {
          runnable: false,
          reason:
            'an OCI image needs a container runtime; the local runtime runs processes only (it runs in Kubernetes)',
        },
      };
    case 'mcpb':
      return {
        command: [],
        local: {
          runnable: false,
          reason:
            'an mcpb bundle is fetched and sha256-verified by the cluster runner image; the local runtime does not download bundles',
        },
      };
    default:
      // undeployable() refused every other registryType before a launch is planned.
      throw new Error(`no launch plan for registryType ${pkg.registryType}`);
  }
}
