// `mcpfleet registry render --stack <dev|prod> [--registry DIR]`: prints the Kubernetes manifests
// the registry compiles to for a stack, so a pull request's effect is reviewable without a cluster.
import type { Command } from 'commander';
import { renderStack, STACKS } from '../../../infra/render.ts';

export function registerRenderCommand(registry: Command): void {
  registry
    .command('render')
    .description('Print the Kubernetes manifests (YAML) the registry compiles to for a stack')
    .requiredOption(
      '--stack <name>',
      `stack whose Pulumi.<stack>.yaml to use (${STACKS.join(' | ')})`,
    )
    .option('--registry <dir>', 'registry directory (default: the stack config registryDir)')
    .action(async (options: { stack: string; registry?: string }) => {
      process.stdout.write(await renderStack(options.stack, options.registry));
    });
}
