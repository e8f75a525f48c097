// What a server.json may not put into the launch of its process: settings that make the runner
// or the runtime load other code than the package named (NODE_OPTIONS=--import=data:…, an npx
// --registry, a uvx --index-url, LD_PRELOAD…), and package names that are not names (an npm
// identifier of "../../elsewhere" would run a file outside node_modules). The official schema
// allows all of it; mcpfleet runs what it deploys with the controller's reach, so a reviewer
// must see the package, and only the package, in the diff. Refusals carry the platform rules
// `no-code-hooks` and `package-name` (docs/registry-rules.md).
import validateNpmPackageName from 'validate-npm-package-name';
import type { Package } from './official-schema.ts';

/** Environment variables that load code, or change where code and trust come from. */
const HOOK_VARIABLES: Record<string, string> = {
  NODE_OPTIONS: 'it makes Node.js load code (--require, --import) before the server',
  NODE_PATH: 'it changes where Node.js finds modules',
  NODE_EXTRA_CA_CERTS: 'it changes which TLS certificates Node.js trusts',
  NODE_TLS_REJECT_UNAUTHORIZED: 'it turns off TLS verification',
  LD_PRELOAD: 'it loads a shared library into the process',
  LD_LIBRARY_PATH: 'it changes where shared libraries are loaded from',
  LD_AUDIT: 'it loads a shared library into the process',
  PYTHONPATH: 'it changes where Python finds modules',
  PYTHONSTARTUP: 'it runs a Python file at start',
  PYTHONHOME: 'it changes which Python standard library runs',
  PYTHONINSPECT: 'it drops Python into an interactive prompt',
  BASH_ENV: 'it runs a file in every bash the server starts',
  ENV: 'it runs a file in every sh the server starts',
  PERL5OPT: 'it makes Perl load modules',
  PERL5LIB: 'it changes where Perl finds modules',
  RUBYOPT: 'it makes Ruby load code',
  RUBYLIB: 'it changes where Ruby finds code',
  JAVA_TOOL_OPTIONS: 'it makes the JVM load agents',
  _JAVA_OPTIONS: 'it makes the JVM load agents',
  JDK_JAVA_OPTIONS: 'it makes the JVM load agents',
  DOTNET_STARTUP_HOOKS: 'it makes .NET run code before the server',
  PATH: 'it changes which programs the server runs',
  UV_INDEX_URL: 'it changes where uvx downloads packages from',
  UV_EXTRA_INDEX_URL: 'it changes where uvx downloads packages from',
  UV_INDEX: 'it changes where uvx downloads packages from',
  UV_DEFAULT_INDEX: 'it changes where uvx downloads packages from',
  UV_FIND_LINKS: 'it changes where uvx downloads packages from',
  PIP_INDEX_URL: 'it changes where pip downloads packages from',
  PIP_EXTRA_INDEX_URL: 'it changes where pip downloads packages from',
};

/** Whole families: npm reads every npm_config_* as a setting (registry, node-options, …). */
const HOOK_PREFIXES: [RegExp, string][] = [
  [/^npm_config_/i, 'npm reads it as a setting (a registry, node-options, a script shell)'],
  [/^DYLD_/, 'it loads or redirects shared libraries'],
  [/^CORECLR_/, 'it makes .NET load a profiler'],
];

/** Runner flags that fetch or run something other than the named package, per runner. */
const HOOK_FLAGS: Record<string, Record<string, string>> = {
  npx: {
    '--registry': 'it downloads the package from another registry',
    '--node-options': 'it makes Node.js load other code',
    '--call': 'it runs a shell command instead of the package',
    '-c': 'it runs a shell command instead of the package',
    '--package': 'it installs other packages next to the one named',
    '-p': 'it installs other packages next to the one named',
    '--userconfig': 'it reads npm settings from another file',
    '--globalconfig': 'it reads npm settings from another file',
    '--prefix': 'it installs and runs from another directory',
    '--script-shell': 'it runs scripts with another shell',
  },
  uvx: {
    '--index-url': 'it downloads packages from another index',
    '-i': 'it downloads packages from another index',
    '--extra-index-url': 'it downloads packages from another index',
    '--index': 'it downloads packages from another index',
    '--default-index': 'it downloads packages from another index',
    '--find-links': 'it downloads packages from other places',
    '-f': 'it downloads packages from other places',
    '--with-editable': 'it runs code from a local directory',
  },
  dnx: {
    '--source': 'it downloads the package from another feed',
    '-s': 'it downloads the package from another feed',
    '--add-source': 'it downloads the package from another feed',
    '--configfile': 'it reads NuGet settings from another file',
  },
};

export interface LaunchRefusal {
  /** Where, relative to the package: `environmentVariables[2].name`, `runtimeArguments[0]`. */
  field: string;
  message: string;
}

export function refusedVariable(name: string): string | undefined {
  const reason = HOOK_VARIABLES[name] ?? HOOK_PREFIXES.find(([pattern]) => pattern.test(name))?.[1];
  return reason === undefined
    ? undefined
    : `environment variable ${name} is not allowed: ${reason}; the platform runs only the package named`;
}

/** The refused flag among one runner's resolved runtime arguments, if any. */
export function refusedRuntimeArgument(runner: string, argument: string): string | undefined {
  const flags = HOOK_FLAGS[runner];
  if (!flags) return undefined;
  const flag = argument.includes('=') ? argument.slice(0, argument.indexOf('=')) : argument;
  const reason = flags[flag];
  return reason === undefined
    ? undefined
    : `runtime argument ${flag} is not allowed for ${runner}: ${reason}; the platform runs only the package named`;
}

// PEP 508 names; NuGet package ids; OCI references (distribution/reference's grammar).
const PYPI_NAME = /^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$/;
const NUGET_ID = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const OCI_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const OCI_REFERENCE = new RegExp(
  `^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?/)?${OCI_COMPONENT}(?:/${OCI_COMPONENT})*` +
    '(?::[\\w][\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$',
);

/** Why an identifier is not a name of its registry, by that registry's own rules. */
export function invalidIdentifier(pkg: Package): string | undefined {
  const id = pkg.identifier;
  switch (pkg.registryType) {
    case 'npm': {
      const verdict = validateNpmPackageName(id);
      if (verdict.validForOldPackages) return undefined;
      const why = [...(verdict.errors ?? []), ...(verdict.warnings ?? [])].join('; ');
      return `${JSON.stringify(id)} is not an npm package name (${why})`;
    }
    case 'pypi':
      return PYPI_NAME.test(id)
        ? undefined
        : `${JSON.stringify(id)} is not a PyPI project name (letters, digits, ".", "_" and "-", starting and ending with a letter or digit)`;
    case 'nuget':
      return NUGET_ID.test(id) && id.length <= 100
        ? undefined
        : `${JSON.stringify(id)} is not a NuGet package id (letters, digits, ".", "_" and "-", at most 100)`;
    case 'oci':
      return OCI_REFERENCE.test(id) && id.length <= 255
        ? undefined
        : `${JSON.stringify(id)} is not an image reference like "ghcr.io/owner/name:1.2.3"`;
    default:
      return undefined;
  }
}
