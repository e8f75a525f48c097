// `mcpfleet registry check|compile|schema`: what CI and reviewers run on a registry PR;
// `registry install`: what the local runtime needs installed ahead of time.
import { Command } from 'commander';
import {
  formatProblem,
  loadRegistry,
  serverJsonSchemaText,
  editorSettingsText,
  EDITOR_SETTINGS_PATH,
  PUBLISHED_SCHEMA_PATH,
  type RegistryResult,
} from '../../../registry/catalog/index.ts';
import { PROJECT_ROOT } from '../../runtime/launch-plan.ts';
import { installPythonTool } from '../../runtime/python-tools.ts';

const DEFAULT_DIR = 'registry/servers';

function summary(result: RegistryResult): string {
  const n = result.checked;
  const servers = `${n} server${n === 1 ? '' : 's'}`;
  return result.problems.length === 0
    ? `ok: ${servers} valid`
    : `${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} in ${servers}`;
}

export function registerRegistryCommands(program: Command): Command {
  const registry = program
    .command('registry')
    .description('Validate and compile registry/servers/<slug>/server.json files');

  registry
    .command('check')
    .description('Validate every server.json; exit 0 when all are valid, 1 otherwise')
    .argument('[dir]', 'registry directory holding <slug>/server.json', DEFAULT_DIR)
    .addHelpText(
      'after',
      '\nEach problem is printed on one line as <file>: <json.path>: <what is wrong and how to fix it>.\n' +
        'Example:\n  npx mcpfleet registry check registry/servers',
    )
    .action(async (dir: string) => {
      const result = await loadRegistry(dir);
      for (const problem of result.problems) process.stdout.write(`${formatProblem(problem)}\n`);
      process.stdout.write(`${summary(result)}\n`);
      process.exitCode = result.problems.length ? 1 : 0;
    });

  registry
    .command('compile')
    .description('Print the compiled ServerSpecs (the deployment plans) of a registry')
    .argument('[dir]', 'registry directory holding <slug>/server.json', DEFAULT_DIR)
    .option('--json', 'print JSON (the only format; accepted for scripts that pass it)', true)
    .addHelpText('after', '\nExample:\n  npx mcpfleet registry compile --json | jq ".[].slug"')
    .action(async (dir: string) => {
      const result = await loadRegistry(dir);
      if (result.problems.length) {
        for (const problem of result.problems) process.stderr.write(`${formatProblem(problem)}\n`);
        process.stderr.write(`${summary(result)}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${JSON.stringify(result.specs, null, 2)}\n`);
      process.exitCode = 0;
    });

  registry
    .command('install')
    .description(
      "Install ahead of time what the local runtime needs to run the registry's PyPI servers " +
        '(uv from PyPI, then each package at its exact version, under .mcpfleet/python)',
    )
    .argument('[dir]', 'registry directory holding <slug>/server.json', DEFAULT_DIR)
    .addHelpText(
      'after',
      '\nnpm servers need nothing: their packages are dependencies of the project.\n' +
        'Example:\n  npx mcpfleet registry install && npm start',
    )
    .action(async (dir: string) => {
      const result = await loadRegistry(dir);
      if (result.problems.length) {
        for (const problem of result.problems) process.stderr.write(`${formatProblem(problem)}\n`);
        process.exitCode = 1;
        return;
      }
      let failed = 0;
      for (const spec of result.specs) {
        const pkg =
          spec.kind === 'workload' && spec.local.runnable ? spec.local.pythonPackage : undefined;
        if (!pkg) continue;
        try {
          const bin = await installPythonTool(PROJECT_ROOT, pkg.name, pkg.version, (line) =>
            process.stdout.write(`${spec.slug}: ${line}\n`),
          );
          process.stdout.write(`${spec.slug}: ${pkg.name}==${pkg.version} ready (${bin})\n`);
        } catch (err) {
          failed++;
          process.stderr.write(
            `${spec.slug}: could not install ${pkg.name}==${pkg.version}: ${(err as Error).message}\n`,
          );
        }
      }
      process.exitCode = failed ? 1 : 0;
    });

  registry
    .command('schema')
    .description('Print the JSON Schema of server.json with mcpfleet settings (for editors)')
    .option(
      '--vscode-settings',
      `print the ${EDITOR_SETTINGS_PATH} that makes VS Code use it for every server.json`,
    )
    .addHelpText(
      'after',
      `\nThe same schema is published at ${PUBLISHED_SCHEMA_PATH}. server.json files name the` +
        `\nofficial schema in "$schema", which editors follow first; ${EDITOR_SETTINGS_PATH}` +
        '\ntherefore gives that URL this content (offline too). Regenerate both with:' +
        `\n  npx mcpfleet registry schema > ${PUBLISHED_SCHEMA_PATH}` +
        `\n  npx mcpfleet registry schema --vscode-settings > ${EDITOR_SETTINGS_PATH}`,
    )
    .action((options: { vscodeSettings?: boolean }) => {
      process.stdout.write(options.vscodeSettings ? editorSettingsText() : serverJsonSchemaText());
      process.exitCode = 0;
    });

  return registry;
}
