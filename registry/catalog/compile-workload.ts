// A server.json with `packages` → a WorkloadSpec: the package deployed per architecture
// (package-selection.ts) and its artifacts, its transport, its command, arguments and
// environment with every input resolved, and the platform's resources, egress and storage.
// Any problem found on the way means no spec.
import type { CommonSpec } from './common-spec.ts';
import { InputResolver } from './inputs.ts';
import { launchOf } from './launch-command.ts';
import type { Package, ServerJson } from './official-schema.ts';
import { artifactOf } from './package-artifact.ts';
import { selectPackages } from './package-selection.ts';
import {
  DEFAULTS,
  PLATFORM_META_PATH as META_PATH,
  type PlatformSettings,
} from './platform-schema.ts';
import { joinPath } from './read-json.ts';
import { resolveArguments } from './resolve-arguments.ts';
import { refuseDataDirWithoutStorage, refuseLaunchHooks } from './resolved-launch-refusals.ts';
import {
  ARCHES,
  DATA_DIR_VARIABLE,
  STORAGE_MOUNT_PATH,
  type Arch,
  type Artifact,
  type Problem,
  type WorkloadSpec,
} from './spec.ts';
import { setUrlVariables, workloadTransport } from './workload-transport.ts';

export function compileWorkload(
  document: ServerJson,
  settings: PlatformSettings,
  common: CommonSpec,
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
  const transport = workloadTransport(pkg, settings, resolver, known);

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
  setUrlVariables(transport, pkg, env);
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
