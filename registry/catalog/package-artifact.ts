// What a deployed package is, as the runtimes fetch it: a registry package for a runner
// (npx, uvx, dnx), an OCI image pinned to a tag or digest, or an mcpb bundle with its sha256.
// A package the platform's rules refuse (package-rules.ts) has no artifact, only a problem.
import type { Package } from './official-schema.ts';
import { undeployable } from './package-rules.ts';
import { joinPath } from './read-json.ts';
import type { Artifact, Problem } from './spec.ts';

export function artifactOf(
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
