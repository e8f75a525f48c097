// server.json (validated) → ServerSpec: the deployment plan both infra/ and controller/ use.
// The entry point: the part every spec shares (common-spec.ts), then a workload when the
// document has packages (compile-workload.ts), else a remote (compile-remote.ts).
import { commonSpecOf } from './common-spec.ts';
import { compileRemote } from './compile-remote.ts';
import { compileWorkload } from './compile-workload.ts';
import type { ServerJson } from './official-schema.ts';
import { PLATFORM_META_KEY, type PlatformSettings } from './platform-schema.ts';
import type { Problem, ServerSpec } from './spec.ts';

export interface CompileResult {
  spec?: ServerSpec;
  problems: Problem[];
}

export function compileServer(document: ServerJson, file: string, slug: string): CompileResult {
  const problems: Problem[] = [];
  const settings: PlatformSettings = document._meta?.[PLATFORM_META_KEY] ?? {};
  const common = commonSpecOf(document, settings, file, slug);

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
