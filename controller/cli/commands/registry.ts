// `mcpfleet registry check|compile|schema`: what CI and reviewers run on a registry PR;
// `registry install`: what the local runtime needs installed ahead of time.
import { Command, Option } from 'commander';
import {
  REPORT_FORMATS,
  renderReport,
  summaryLine,
  verdict,
  type ReportFormat,
} from '../problem-report.ts';
import type { RegistryResult } from '../../../registry/catalog/index.ts';
import { registerRegistryImportCommands } from './registry-import.ts';
import { registerRegistryDiffCommand } from './registry-diff.ts';

// The catalog (zod and the schemas) is imported when a registry command runs, so --help and
// --version do not load it. Its two paths in the help text are repeated here; a test
// (test/controller/cli/startup.test.ts) keeps them equal to registry/catalog/json-schema.ts's.
const catalog = () => import('../../../registry/catalog/index.ts');
const PUBLISHED_SCHEMA_PATH = 'registry/server.schema.json';
const EDITOR_SETTINGS_PATH = '.vscode/settings.json';

const DEFAULT_DIR = 'registry/servers';

function summary(result: RegistryResult): string {
  return summaryLine(result, false);
}

export function registerRegistryCommands(program: Command): Command {
  const registry = program
    .command('registry')
    .description('Validate and compile registry/servers/<slug>/server.json files');

  registry
    .command('check')
    .description('Validate every server.json; exit 0 when all are valid, 1 otherwise')
    .argument('[dir]', 'registry directory holding <slug>/server.json', DEFAULT_DIR)
    .addOption(
      new Option('--format <format>', 'text for people, github for PR annotations, or json')
        .choices(REPORT_FORMATS)
        .default('text'),
    )
    .option(
      '--strict',
      'treat warnings (fields mcpfleet does not read, unknown revisions) as errors',
    )
    .addHelpText(
      'after',
      '\nWhat the official server.json schema (of the revision named in "$schema") refuses is an' +
        '\nerror, and so is what mcpfleet cannot deploy; a field the official schema allows but' +
        '\nmcpfleet does not read is a warning, printed after the errors (often a typo).' +
        '\nEach is one line: <file>:<line>:<column>: <json.path>: <what is wrong and how to fix it>.' +
        '\n--format github prints ::error/::warning workflow commands instead, which GitHub shows' +
        "\non the pull request's diff." +
        '\nExamples:\n  npx mcpfleet registry check registry/servers' +
        '\n  npx mcpfleet registry check --strict --format github',
    )
    .action(async (dir: string, options: { format: ReportFormat; strict?: boolean }) => {
      const { formatProblem, loadRegistry } = await catalog();
      const result = await loadRegistry(dir);
      const strict = options.strict === true;
      process.stdout.write(renderReport(result, options.format, strict, formatProblem));
      process.exitCode = verdict(result, strict).errors.length ? 1 : 0;
    });

  registry
    .command('compile')
    .description('Print the compiled ServerSpecs (the deployment plans) of a registry')
    .argument('[dir]', 'registry directory holding <slug>/server.json', DEFAULT_DIR)
    .option('--json', 'print JSON (the only format; accepted for scripts that pass it)', true)
    .addHelpText('after', '\nExample:\n  npx mcpfleet registry compile --json | jq ".[].slug"')
    .action(async (dir: string) => {
      const { formatProblem, loadRegistry } = await catalog();
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
      const [{ formatProblem, loadRegistry }, { PROJECT_ROOT }, { installPythonTool }] =
        await Promise.all([
          catalog(),
          import('../../runtime/launch-plan.ts'),
          import('../../runtime/python-tools.ts'),
        ]);
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
    .action(async (options: { vscodeSettings?: boolean }) => {
      const { editorSettingsText, serverJsonSchemaText } = await catalog();
      process.stdout.write(options.vscodeSettings ? editorSettingsText() : serverJsonSchemaText());
      process.exitCode = 0;
    });

  registerRegistryImportCommands(registry);
  registerRegistryDiffCommand(registry);
  return registry;
}
