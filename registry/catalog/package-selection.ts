// Which package each architecture deploys (`_meta...package`, `_meta...arch`): one package for
// both by default, or one per architecture, by index or identifier; a lone mcpb bundle runs on
// the architecture its URL names. A selection that names no package, or leaves no
// architecture, is a `deployable-selection` problem.
import type { Package, ServerJson } from './official-schema.ts';
import { PLATFORM_META_PATH as META_PATH, type PlatformSettings } from './platform-schema.ts';
import { joinPath } from './read-json.ts';
import { ARCHES, type Arch, type Problem } from './spec.ts';

/** Which package index each architecture deploys, from `_meta...package`. */
export function selectPackages(
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
