// The platform's rules on the package it deploys (docs/registry-rules.md): a registryType it
// runs, a package name that is a name, an exact version (not "latest", not a range), an mcpb
// bundle downloaded over https and verified by its sha256. Only the package the settings
// select is judged: others may be anything the official schema allows.
import { invalidIdentifier } from './launch-hooks.ts';
import { REGISTRY_TYPES, type Package } from './official-schema.ts';
import { PLATFORM_META_PATH as META_PATH } from './platform-schema.ts';
import type { PlatformRule } from './platform-rules.ts';
import { joinPath } from './read-json.ts';

/** `^1.2`, `~1`, `>=1`, `1.x`, `1.*`, `1 - 2`, `1 || 2`: ranges, not versions. */
const VERSION_RANGE = /^[\^~><=*]|\|\||\s|(^|\.)[xX*](\.|$)/;

/**
 * Why the deployed package cannot be deployed, if it cannot: the platform rules on packages.
 * Only the package the settings select is judged; others may be anything the official schema
 * allows (a cargo package listed next to the npm one deployed is fine).
 */
export function undeployable(
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
