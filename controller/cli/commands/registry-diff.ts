// `mcpfleet registry diff [--base <ref>] [--format markdown|json] [--stack <name>] [dir]`: what a
// registry change adds, changes and removes, and which Kubernetes objects and fields that
// touches; Markdown for a pull-request comment, JSON for scripts.
//
// registry/review/ and infra/ (Pulumi, the manifest builders) are imported only when the command
// runs: every other command starts without them, and images carry neither.
import { InvalidArgumentError, type Command } from 'commander';
import { RENDER_STACKS } from './render.ts';

const FORMATS = ['markdown', 'json'] as const;
type Format = (typeof FORMATS)[number];

function format(value: string): Format {
  if (!(FORMATS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected ${FORMATS.join(' or ')}`);
  }
  return value as Format;
}

const HELP = `
The base is the merge base of HEAD and --base (what GitHub compares a pull request with); its
registry files are read from git, nothing is checked out. The head is the working tree, so
uncommitted changes count. Both sides are rendered with this checkout's Pulumi.<stack>.yaml,
as \`registry render\` does, and compared object by object (apiVersion/kind/namespace/name):
the output lists each added, changed and removed server with its objects and changed fields.
A server.json that does not compile on one side is listed with its problems and left out of
both renders. Exit 0 whenever a diff is printed (\`registry check\` is the gate); 1 when it
cannot be made (not a git repository, unknown base, no stack file).

JSON shape (schema "mcpfleet.dev/registry-diff/v1"): docs/registry-diff.md.

Examples:
  npx mcpfleet registry diff                                  # against origin/main, else main
  npx mcpfleet registry diff --base origin/main --format markdown > comment.md
  npx mcpfleet registry diff --format json | jq '.servers[] | {slug, status}'
  npx mcpfleet registry diff --stack dev registry/servers`;

export function registerRegistryDiffCommand(registry: Command): void {
  registry
    .command('diff')
    .description(
      'Show which servers a change adds, changes and removes, and the Kubernetes objects it touches',
    )
    .argument(
      '[dir]',
      'registry directory holding <slug>/server.json (default: the stack config registryDir)',
    )
    .option(
      '--base <ref>',
      'branch, tag or commit to compare with (default: origin/main, else main)',
    )
    .option('--format <format>', `output format (${FORMATS.join(' | ')})`, format, 'markdown')
    .option('--stack <name>', `stack to render (${RENDER_STACKS.join(' | ')})`, 'prod')
    .addHelpText('after', HELP)
    .action(
      async (
        dir: string | undefined,
        options: { base?: string; format: Format; stack: string },
      ) => {
        let review: typeof import('../../../registry/review/index.ts');
        try {
          review = await import('../../../registry/review/index.ts');
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
          process.stderr.write(
            'mcpfleet registry diff needs registry/review/ and infra/: run it from a checkout of the repository\n',
          );
          process.exitCode = 1;
          return;
        }
        try {
          const diff = await review.registryDiff({ dir, base: options.base, stack: options.stack });
          process.stdout.write(
            options.format === 'json'
              ? `${JSON.stringify(diff, null, 2)}\n`
              : review.renderMarkdown(diff),
          );
          process.exitCode = 0;
        } catch (error) {
          if (!(error instanceof review.ReviewError)) throw error;
          process.stderr.write(`mcpfleet registry diff: ${error.message}\n`);
          process.exitCode = 1;
        }
      },
    );
}
