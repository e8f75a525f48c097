// `mcpfleet registry render --stack <local|dev|prod> [dir]`: prints the Kubernetes manifests
// the registry compiles to for a stack, so a pull request's effect is reviewable without a cluster.
//
// infra/ is imported only when the command runs: the controller and runner images hold
// controller/ and registry/catalog/ but not infra/, and every other command must load there.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

/** infra/render.ts STACKS; a test keeps the two equal. */
export const RENDER_STACKS = ['local', 'dev', 'prod'] as const;

export const INFRA_MISSING =
  'mcpfleet registry render needs the infra/ folder: run it from a checkout of the repository';

/** infra/ is here in a checkout, not in an image. */
function hasInfra(): boolean {
  return existsSync(fileURLToPath(new URL('../../../infra/render.ts', import.meta.url)));
}

export function registerRenderCommand(registry: Command): void {
  registry
    .command('render')
    .description('Print the Kubernetes manifests (YAML) the registry compiles to for a stack')
    .requiredOption(
      '--stack <name>',
      `stack whose Pulumi.<stack>.yaml to use (${RENDER_STACKS.join(' | ')})`,
    )
    // The registry folder is an argument, as for `check` and `compile`; --registry still works.
    .argument(
      '[dir]',
      'registry directory holding <slug>/server.json (default: the stack config registryDir)',
    )
    .option('--registry <dir>', 'the same as [dir]')
    .action(async (dir: string | undefined, options: { stack: string; registry?: string }) => {
      if (!hasInfra()) {
        process.stderr.write(`${INFRA_MISSING}\n`);
        process.exitCode = 1;
        return;
      }
      if (dir !== undefined && options.registry !== undefined && dir !== options.registry) {
        process.stderr.write(
          `mcpfleet registry render: give the registry once (${dir} or --registry ${options.registry})\n`,
        );
        process.exitCode = 1;
        return;
      }
      const { renderStack } = await import('../../../infra/render.ts');
      process.stdout.write(await renderStack(options.stack, dir ?? options.registry));
    });
}
