// Refusals judged on a workload's launch once its inputs are filled in: launch hooks
// (launch-hooks.ts: variables and runner flags that would run other code than the package,
// even when hidden in an input's value or default), and $(MCPFLEET_DATA_DIR) in a server
// without storage, where it would expand to nothing.
import { refusedRuntimeArgument, refusedVariable } from './launch-hooks.ts';
import type { Package } from './official-schema.ts';
import { PLATFORM_META_PATH as META_PATH } from './platform-schema.ts';
import { joinPath } from './read-json.ts';
import { DATA_DIR_VARIABLE, type Problem } from './spec.ts';

const RUNNERS: Record<string, string> = { npm: 'npx', pypi: 'uvx', nuget: 'dnx' };

/** Environment variables and runner flags that would run other code than the package. */
export function refuseLaunchHooks(
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

/** $(MCPFLEET_DATA_DIR) names the storage volume: without one it would expand to nothing. */
export function refuseDataDirWithoutStorage(
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
