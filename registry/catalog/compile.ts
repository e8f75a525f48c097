// server.json (validated) → ServerSpec: the deployment plan both infra/ and controller/ use.
import { parseDuration } from './duration.ts';
import {
  REGISTRY_TYPES,
  type Argument,
  type Package,
  type RemoteTransport,
  type ServerJson,
} from './official-schema.ts';
import type { PlatformRule } from './platform-rules.ts';
import { invalidIdentifier, refusedRuntimeArgument, refusedVariable } from './launch-hooks.ts';
import { DEFAULTS, PLATFORM_META_KEY, type PlatformSettings } from './platform-schema.ts';
import { InputResolver } from './inputs.ts';
import { joinPath } from './read-json.ts';
import {
  ARCHES,
  SPEC_API_VERSION,
  type Arch,
  type Artifact,
  type EgressRule,
  type Health,
  type LocalLaunch,
  type Problem,
  type RemoteSpec,
  type Scaling,
  type ServerSpec,
  type Sessions,
  type Transport,
  type WorkloadSpec,
  POD_BIND_ADDRESS,
  DATA_DIR_VARIABLE,
  STORAGE_MOUNT_PATH,
} from './spec.ts';

const META_PATH = joinPath('_meta', PLATFORM_META_KEY);

export interface CompileResult {
  spec?: ServerSpec;
  problems: Problem[];
}

export function compileServer(document: ServerJson, file: string, slug: string): CompileResult {
  const problems: Problem[] = [];
  const settings: PlatformSettings = document._meta?.[PLATFORM_META_KEY] ?? {};
  const meta = Object.fromEntries(
    Object.entries(document._meta ?? {}).filter(([key]) => key !== PLATFORM_META_KEY),
  );
  const common = {
    apiVersion: SPEC_API_VERSION,
    slug,
    name: document.name,
    title: document.title ?? document.name.slice(document.name.indexOf('/') + 1),
    description: document.description,
    version: document.version,
    source: file,
    scaling: scalingOf(settings),
    health: healthOf(settings),
    sessions: sessionsOf(settings),
    meta,
  };

  let spec: ServerSpec | undefined;
  if (document.packages?.length) {
    spec = compileWorkload(document, settings, common, problems);
  } else if (document.remotes?.length) {
    spec = compileRemote(document.remotes, settings, common, problems);
  } else {
    problems.push({
      file,
      path: '$',
      rule: 'deployable-selection',
      message:
        'nothing to deploy: add a "packages" entry (npm, pypi, oci, nuget or mcpb) or a "remotes" URL',
    });
  }
  return problems.length ? { problems } : { spec, problems };
}

type Common = Omit<
  WorkloadSpec,
  | 'kind'
  | 'packageIndex'
  | 'artifacts'
  | 'nodeArch'
  | 'command'
  | 'args'
  | 'env'
  | 'secretEnv'
  | 'transport'
  | 'warmSpare'
  | 'resources'
  | 'egress'
  | 'local'
>;

function scalingOf(settings: PlatformSettings): Scaling {
  const s = settings.scaling ?? {};
  return {
    minReplicas: s.minReplicas ?? DEFAULTS.minReplicas,
    // The schema already refused minReplicas > maxReplicas (with the default max).
    maxReplicas: s.maxReplicas ?? DEFAULTS.maxReplicas,
    idleTimeoutMs: parseDuration(s.idleTimeout ?? DEFAULTS.idleTimeout),
    sessionsPerReplica: s.sessionsPerReplica ?? DEFAULTS.sessionsPerReplica,
  };
}

function sessionsOf(settings: PlatformSettings): Sessions {
  const s = settings.sessions ?? {};
  return {
    resume: s.resume ?? DEFAULTS.sessionResume,
    // Left out when not set: the controller applies the defaults (sessions/session-limits.ts).
    ...(s.maxPerClient !== undefined ? { maxPerClient: s.maxPerClient } : {}),
    ...(s.idleTimeout !== undefined ? { idleTimeoutMs: parseDuration(s.idleTimeout) } : {}),
  };
}

function healthOf(settings: PlatformSettings): Health {
  const h = settings.health ?? {};
  return {
    intervalMs: parseDuration(h.interval ?? DEFAULTS.healthInterval),
    timeoutMs: parseDuration(h.timeout ?? DEFAULTS.healthTimeout),
    failureThreshold: h.failureThreshold ?? DEFAULTS.failureThreshold,
    startupTimeoutMs: parseDuration(h.startupTimeout ?? DEFAULTS.startupTimeout),
  };
}

/** Which package index each architecture deploys, from `_meta...package`. */
function selectPackages(
  document: ServerJson,
  settings: PlatformSettings,
  file: string,
  problems: Problem[],
): Partial<Record<Arch, number>> {
  const packages = document.packages ?? [];
  const indexOf = (ref: number | string, path: string): number | undefined => {
    const index = typeof ref === 'number' ? ref : packages.findIndex((p) => p.identifier === ref);
    if (index < 0 || index >= packages.length) {
      problems.push({
        file,
        path,
        rule: 'deployable-selection',
        message: `no such package: use an index 0..${packages.length - 1} or one of the identifiers ${packages
          .map((p) => JSON.stringify(p.identifier))
          .join(', ')}`,
      });
      return undefined;
    }
    return index;
  };
  const selection = settings.package;
  const allowed: Arch[] =
    !settings.arch || settings.arch === 'both' ? [...ARCHES] : [settings.arch];
  const chosen: Partial<Record<Arch, number>> = {};

  if (selection !== undefined && typeof selection === 'object') {
    for (const arch of ARCHES) {
      const ref = selection[arch];
      if (ref === undefined) continue;
      const index = indexOf(ref, joinPath(joinPath(META_PATH, 'package'), arch));
      if (index !== undefined && allowed.includes(arch)) chosen[arch] = index;
    }
  } else {
    const index = indexOf(selection ?? 0, joinPath(META_PATH, 'package'));
    if (index === undefined) return chosen;
    const pkg = packages[index] as Package;
    // A single mcpb bundle is usually built for one architecture: its URL says which.
    const inferred = pkg.registryType === 'mcpb' ? archFromUrl(pkg.identifier) : undefined;
    for (const arch of allowed) if (!inferred || inferred === arch) chosen[arch] = index;
  }
  if (Object.keys(chosen).length === 0 && problems.length === 0) {
    problems.push({
      file,
      path: joinPath(META_PATH, 'arch'),
      rule: 'deployable-selection',
      message: `arch "${settings.arch}" excludes every architecture the selected package runs on; change "arch" or "package"`,
    });
  }
  return chosen;
}

function archFromUrl(url: string): Arch | undefined {
  if (/(arm64|aarch64)/i.test(url)) return 'arm64';
  if (/(amd64|x86_64|x64)/i.test(url)) return 'amd64';
  return undefined;
}

function artifactOf(
  pkg: Package,
  path: string,
  file: string,
  problems: Problem[],
): Artifact | undefined {
  const refusal = undeployable(pkg);
  if (refusal) {
    problems.push({ file, path: joinPath(path, refusal.field), ...refusal });
    return undefined;
  }
  switch (pkg.registryType) {
    case 'npm':
    case 'pypi':
    case 'nuget':
      return {
        type: 'package',
        runner:
          pkg.registryType === 'npm' ? 'node' : pkg.registryType === 'pypi' ? 'python' : 'dotnet',
        registryType: pkg.registryType,
        identifier: pkg.identifier,
        version: pkg.version as string,
        ...(pkg.registryBaseUrl ? { registryBaseUrl: pkg.registryBaseUrl } : {}),
      };
    case 'oci': {
      const image = imageReference(pkg);
      if (typeof image !== 'string') {
        problems.push({
          file,
          path: joinPath(path, image.field),
          rule: 'pinned-image',
          message: image.message,
        });
        return undefined;
      }
      return { type: 'image', image };
    }
    case 'mcpb':
      return {
        type: 'mcpb',
        url: pkg.identifier,
        sha256: pkg.fileSha256 as string,
        runner: /^(python|uv|uvx)$/.test(pkg.runtimeHint ?? '') ? 'python' : 'node',
      };
  }
}

/** `^1.2`, `~1`, `>=1`, `1.x`, `1.*`, `1 - 2`, `1 || 2`: ranges, not versions. */
const VERSION_RANGE = /^[\^~><=*]|\|\||\s|(^|\.)[xX*](\.|$)/;

/**
 * Why the deployed package cannot be deployed, if it cannot: the platform rules on packages.
 * Only the package the settings select is judged; others may be anything the official schema
 * allows (a cargo package listed next to the npm one deployed is fine).
 */
function undeployable(
  pkg: Package,
): { field: string; rule: PlatformRule; message: string } | undefined {
  if (!(REGISTRY_TYPES as readonly string[]).includes(pkg.registryType)) {
    return {
      field: 'registryType',
      rule: 'runnable-package',
      message: `mcpfleet cannot run registryType ${JSON.stringify(pkg.registryType)} (it runs ${REGISTRY_TYPES.join(', ')}): deploy another package with ${joinPath(META_PATH, 'package')}`,
    };
  }
  const notAName = invalidIdentifier(pkg);
  if (notAName) return { field: 'identifier', rule: 'package-name', message: notAName };
  if (pkg.registryType === 'mcpb') {
    if (!/^https:\/\//.test(pkg.identifier)) {
      return {
        field: 'identifier',
        rule: 'verified-download',
        message: 'an mcpb identifier is the bundle download URL and must start with https://',
      };
    }
    if (pkg.fileSha256 === undefined) {
      return {
        field: 'fileSha256',
        rule: 'verified-download',
        message:
          'an mcpb package needs "fileSha256" (run: sha256sum bundle.mcpb) so the download can be verified',
      };
    }
    return undefined;
  }
  if (pkg.registryType === 'oci') return undefined; // imageReference judges the tag
  if (pkg.version === undefined || pkg.version === '') {
    return {
      field: 'version',
      rule: 'pinned-version',
      message: `a ${pkg.registryType} package needs an exact "version" (e.g. "1.2.3")`,
    };
  }
  if (pkg.version === 'latest') {
    return {
      field: 'version',
      rule: 'pinned-version',
      message: `"latest" is not a version: pin an exact package version (e.g. "1.2.3") so deploys are reproducible`,
    };
  }
  if (VERSION_RANGE.test(pkg.version)) {
    return {
      field: 'version',
      rule: 'pinned-version',
      message: `version ranges are not allowed: pin an exact package version (e.g. "1.2.3" instead of "^1.2")`,
    };
  }
  return undefined;
}

const RUNNERS: Record<string, string> = { npm: 'npx', pypi: 'uvx', nuget: 'dnx' };

/** Environment variables and runner flags that would run other code than the package. */
function refuseLaunchHooks(
  pkg: Package,
  pkgPath: string,
  runtimeArgs: string[],
  file: string,
  problems: Problem[],
): void {
  (pkg.environmentVariables ?? []).forEach((variable, i) => {
    const message = refusedVariable(variable.name);
    const path = joinPath(joinPath(joinPath(pkgPath, 'environmentVariables'), i), 'name');
    if (message) problems.push({ file, path, rule: 'no-code-hooks', message });
  });
  const runner = RUNNERS[pkg.registryType];
  if (runner === undefined) return;
  // Resolved arguments, so a flag hidden in an input's value or default is seen too.
  for (const argument of runtimeArgs) {
    const message = refusedRuntimeArgument(runner, argument);
    const path = joinPath(pkgPath, 'runtimeArguments');
    if (message) problems.push({ file, path, rule: 'no-code-hooks', message });
  }
}

/** An OCI reference pinned to a tag or digest; "latest" or no tag at all is refused. */
function imageReference(pkg: Package): string | { field: string; message: string } {
  const id = pkg.identifier;
  const lastSegment = id.slice(id.lastIndexOf('/') + 1);
  const hasDigest = id.includes('@sha256:');
  const tag = lastSegment.includes(':')
    ? lastSegment.slice(lastSegment.indexOf(':') + 1)
    : undefined;
  if (hasDigest) return id;
  if (tag === 'latest') {
    return {
      field: 'identifier',
      message: 'image tag "latest" is not a version: pin a tag like ":1.2.3" or a digest',
    };
  }
  if (tag) return id;
  if (pkg.version) return `${id}:${pkg.version}`;
  return {
    field: 'version',
    message: 'pin the image: add "version" or a tag/digest to "identifier"',
  };
}

/** The resolved argv for one list of official arguments. */
function resolveArguments(
  args: Argument[] | undefined,
  path: string,
  resolver: InputResolver,
  known: string[],
): string[] {
  const out: string[] = [];
  (args ?? []).forEach((arg, i) => {
    const argPath = joinPath(path, i);
    if (arg.type === 'positional') {
      const keys = arg.valueHint ? [arg.valueHint] : [];
      known.push(...keys);
      const values = resolver.resolve(arg, keys, argPath, { repeated: arg.isRepeated ?? false });
      if (values) out.push(...values);
    } else {
      const keys = [arg.name, arg.name.replace(/^-+/, '')];
      known.push(keys[1] as string);
      const values = resolver.resolve(arg, keys, argPath, { repeated: arg.isRepeated ?? false });
      for (const value of values ?? []) out.push(arg.name, value);
    }
  });
  return out;
}

interface ParsedUrl {
  port?: number;
  portVariable?: string;
  /** http://{HOST}:…: the server's bind-address variable. */
  hostVariable?: string;
  path: string;
}

function parseTransportUrl(url: string): ParsedUrl {
  const hostVariable = /^https?:\/\/\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(url)?.[1];
  const parsed = parsePortAndPath(url);
  return hostVariable ? { ...parsed, hostVariable } : parsed;
}

function parsePortAndPath(url: string): ParsedUrl {
  const templated = /^https?:\/\/[^/:]+:\{([A-Za-z_][A-Za-z0-9_]*)\}(\/[^?#]*)?/.exec(url);
  if (templated) return { portVariable: templated[1], path: templated[2] || '/' };
  const literal = /^https?:\/\/[^/:]+(?::(\d+))?(\/[^?#]*)?/.exec(url);
  if (literal)
    return { port: literal[1] ? Number(literal[1]) : undefined, path: literal[2] || '/' };
  return { path: '/mcp' };
}

function compileWorkload(
  document: ServerJson,
  settings: PlatformSettings,
  common: Common,
  problems: Problem[],
): WorkloadSpec | undefined {
  const file = common.source;
  const packages = document.packages as Package[];
  const packageIndex = selectPackages(document, settings, file, problems);
  if (problems.length) return undefined;

  const arches = ARCHES.filter((a) => packageIndex[a] !== undefined);
  const primaryIndex = packageIndex[arches[0] as Arch] as number;
  const pkg = packages[primaryIndex] as Package;
  const pkgPath = joinPath('packages', primaryIndex);

  const artifacts: Partial<Record<Arch, Artifact>> = {};
  for (const arch of arches) {
    const index = packageIndex[arch] as number;
    const other = packages[index] as Package;
    if (other.transport.type !== pkg.transport.type || other.registryType !== pkg.registryType) {
      problems.push({
        file,
        path: joinPath(joinPath(META_PATH, 'package'), arch),
        rule: 'runnable-package',
        message: `packages chosen per architecture must share registryType and transport (packages[${primaryIndex}] is ${pkg.registryType}/${pkg.transport.type}, packages[${index}] is ${other.registryType}/${other.transport.type})`,
      });
      continue;
    }
    const artifact = artifactOf(other, joinPath('packages', index), file, problems);
    if (artifact) artifacts[arch] = artifact;
  }

  const resolver = new InputResolver(settings, file, problems);
  const known: string[] = [];
  let transport: Transport = { type: 'stdio' };
  if (pkg.transport.type !== 'stdio') {
    const parsed = parseTransportUrl(pkg.transport.url);
    const port = settings.port ?? parsed.port ?? DEFAULTS.port;
    transport = {
      type: pkg.transport.type,
      port,
      path: parsed.path,
      ...(parsed.portVariable ? { portVariable: parsed.portVariable } : {}),
      ...(parsed.hostVariable ? { hostVariable: parsed.hostVariable } : {}),
    };
    if (parsed.portVariable) {
      resolver.provide(parsed.portVariable, String(port));
      known.push(parsed.portVariable);
    }
    if (parsed.hostVariable) {
      resolver.provide(parsed.hostVariable, POD_BIND_ADDRESS);
      known.push(parsed.hostVariable);
    }
  }

  const runtimeArgs = resolveArguments(
    pkg.runtimeArguments,
    joinPath(pkgPath, 'runtimeArguments'),
    resolver,
    known,
  );
  const packageArgs = resolveArguments(
    pkg.packageArguments,
    joinPath(pkgPath, 'packageArguments'),
    resolver,
    known,
  );

  // First, so Kubernetes expands $(MCPFLEET_DATA_DIR) in the variables after it.
  const env: Record<string, string> = settings.storage
    ? { [DATA_DIR_VARIABLE]: STORAGE_MOUNT_PATH }
    : {};
  (pkg.environmentVariables ?? []).forEach((variable, i) => {
    known.push(variable.name);
    const values = resolver.resolve(
      variable,
      [variable.name],
      joinPath(joinPath(pkgPath, 'environmentVariables'), i),
      {
        secretEnvName: variable.name,
      },
    );
    const value = values?.[0];
    // A bound secret lands in the variable itself (secretKeyRef), not as a plain value.
    if (value !== undefined && value !== `$(${variable.name})`) env[variable.name] = value;
  });
  if (transport.type !== 'stdio') {
    // The URL's variables are set in the environment, unless they are arguments.
    const urlVariables: [string | undefined, string][] = [
      [transport.portVariable, String(transport.port)],
      [transport.hostVariable, POD_BIND_ADDRESS],
    ];
    for (const [variable, value] of urlVariables) {
      if (variable === undefined || env[variable] !== undefined) continue;
      const isArgument = (pkg.packageArguments ?? []).some(
        (a) => (a.type === 'positional' ? a.valueHint : a.name.replace(/^-+/, '')) === variable,
      );
      if (!isArgument) env[variable] = value;
    }
  }
  resolver.reportUnused(known);
  if (!settings.storage)
    refuseDataDirWithoutStorage(env, [...runtimeArgs, ...packageArgs], file, problems);
  refuseLaunchHooks(pkg, pkgPath, runtimeArgs, file, problems);
  if (problems.length) return undefined;

  const { command, local } = launchOf(pkg, runtimeArgs, packageArgs);
  return {
    ...common,
    kind: 'workload',
    packageIndex,
    artifacts,
    ...(arches.length === 1 ? { nodeArch: arches[0] } : {}),
    command,
    args: packageArgs,
    env,
    secretEnv: resolver.secretEnv,
    transport,
    warmSpare: settings.warmSpare ?? DEFAULTS.warmSpare,
    resources: {
      requests: { ...DEFAULTS.resources.requests, ...settings.resources?.requests },
      limits: { ...DEFAULTS.resources.limits, ...settings.resources?.limits },
    },
    egress: settings.egress ?? [],
    ...(settings.storage ? { storage: settings.storage } : {}),
    local,
  };
}

/** $(MCPFLEET_DATA_DIR) names the storage volume: without one it would expand to nothing. */
function refuseDataDirWithoutStorage(
  env: Record<string, string>,
  args: readonly string[],
  file: string,
  problems: Problem[],
): void {
  const reference = `$(${DATA_DIR_VARIABLE})`;
  const where = [
    ...Object.entries(env).map(([name, value]) => ({ value, what: `the variable ${name}` })),
    ...args.map((value) => ({ value, what: `the argument "${value}"` })),
  ].find(({ value }) => value.includes(reference));
  if (where === undefined) return;
  problems.push({
    file,
    path: joinPath(META_PATH, 'storage'),
    rule: 'storage',
    message: `${where.what} uses ${reference}, which only a server with storage has: add "storage": { "size": "1Gi" } (and scaling.maxReplicas 1), or write another path`,
  });
}

/** The runner command (before the package's own args) and the laptop launch plan. */
function launchOf(
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

function compileRemote(
  remotes: RemoteTransport[],
  settings: PlatformSettings,
  common: Common,
  problems: Problem[],
): RemoteSpec | undefined {
  const file = common.source;
  const index = settings.remote ?? 0;
  const remote = remotes[index];
  if (!remote) {
    problems.push({
      file,
      path: joinPath(META_PATH, 'remote'),
      rule: 'deployable-selection',
      message: `no such remote: use an index 0..${remotes.length - 1}`,
    });
    return undefined;
  }
  const path = joinPath('remotes', index);
  const resolver = new InputResolver(settings, file, problems);
  const known = Object.keys(remote.variables ?? {});
  const url = resolver.substitute(remote.url, remote.variables, joinPath(path, 'url'));
  const unresolved = /\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(url);
  if (unresolved) {
    problems.push({
      file,
      path: joinPath(path, 'url'),
      rule: 'inputs-filled',
      message: `URL variable {${unresolved[1]}} has no value: declare it under "variables" and set ${joinPath(joinPath(META_PATH, 'inputs'), unresolved[1] as string)}`,
    });
  }
  const headers: Record<string, string> = {};
  (remote.headers ?? []).forEach((header, i) => {
    known.push(header.name);
    const values = resolver.resolve(header, [header.name], joinPath(joinPath(path, 'headers'), i), {
      secretEnvName: header.name,
    });
    const value = values?.[0];
    if (value !== undefined && value !== `$(${header.name})`) headers[header.name] = value;
  });
  resolver.reportUnused(known);
  if (problems.length) return undefined;

  let egress: EgressRule[] = settings.egress ?? [];
  try {
    const parsed = new URL(url);
    const port = parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
    egress = [{ host: parsed.hostname, ports: [port] }, ...egress];
  } catch {
    problems.push({
      file,
      path: joinPath(path, 'url'),
      rule: 'inputs-filled',
      message: `"${url}" is not a valid URL after substitution`,
    });
    return undefined;
  }
  return {
    ...common,
    kind: 'remote',
    upstream: { type: remote.type, url, headers, secretHeaders: resolver.secretEnv },
    egress,
  };
}
