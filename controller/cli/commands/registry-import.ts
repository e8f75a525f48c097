// `mcpfleet registry add|search`: import servers from an MCP registry (the official one by
// default, or any registry speaking its v0.1 API) instead of copying server.json by hand.
// What the actions need is imported inside them, so `mcpfleet --help` does not load it.
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../../../registry/catalog/duration.ts';
import { DEFAULT_REGISTRY_URL } from '../../../registry/import/registry-api.ts';
import type { AddResult } from '../../../registry/import/add.ts';
import type { Need } from '../../../registry/import/skeleton.ts';

const DEFAULT_DIR = 'registry/servers';
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;
const META = '_meta["dev.mcpfleet/v1"]';

interface RegistryOptions {
  registryUrl: string;
  timeout: number;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_LIMIT) {
    throw new InvalidArgumentError(`use a whole number from 1 to ${MAX_LIMIT}.`);
  }
  return n;
}

function parseTimeout(value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
  if (ms <= 0) throw new InvalidArgumentError('must be more than 0');
  return ms;
}

/** --registry-url and --timeout, which add and search share. */
function withRegistry(command: Command): Command {
  return command
    .addOption(
      new Option('--registry-url <url>', 'base URL of the MCP registry (v0.1 API)')
        .env('MCPFLEET_REGISTRY_URL')
        .default(DEFAULT_REGISTRY_URL),
    )
    .addOption(
      new Option('--timeout <duration>', 'give up on a request after this long, e.g. 30s')
        .default(parseDuration('10s'), '10s')
        .argParser(parseTimeout),
    );
}

async function clientFor(options: RegistryOptions) {
  const { RegistryClient } = await import('../../../registry/import/registry-api.ts');
  return new RegistryClient({ url: options.registryUrl, timeoutMs: options.timeout });
}

function needLine(need: Need, name: string): string {
  const kind = `${need.required ? 'required' : 'optional'} ${need.kind}`;
  return `  ${name}  ${kind} (${need.declaredAt})${need.about ? `: ${need.about}` : ''}\n`;
}

/** What was written, what is left to fill, the check's verdict and the next step. */
async function reportAdd(result: AddResult, dir: string, registryUrl: string): Promise<string> {
  const { formatProblem } = await import('../../../registry/catalog/problems.ts');
  const { isPlaceholderMessage } = await import('../../../registry/catalog/placeholder.ts');
  const { statusWarning } = await import('../../../registry/import/add.ts');
  const server = result.entry.server;
  let out = `wrote ${result.file}: ${server.name} ${String(server.version)} from ${registryUrl}\n`;
  const status = statusWarning(result.entry);
  if (status) out += `warning: ${status}\n`;
  if (result.keptSettings) out += `kept the ${META} settings of the file it replaced\n`;
  if (result.placeholders.length > 0) {
    out += `to fill in under ${META}:\n`;
    for (const need of result.placeholders) {
      out += needLine(need, `${need.kind === 'secret' ? 'secrets' : 'inputs'}.${need.key}`);
    }
  }
  if (result.optional.length > 0) {
    out += `optional inputs left unset (give them a value under ${META}.inputs if needed):\n`;
    for (const need of result.optional) out += needLine(need, `inputs.${need.key}`);
  }
  out += '\ncheck:\n';
  for (const problem of result.problems) out += `${formatProblem(problem)}\n`;
  for (const warning of result.warnings) out += `warning: ${formatProblem(warning)}\n`;
  const n = result.problems.length;
  if (n === 0) {
    return (
      `${out}ok: ${result.file} is valid\n` +
      `next: review it (egress is denied unless ${META}.egress allows it), then try it: ` +
      `npm start, and npx mcpfleet wake ${result.slug}\n`
    );
  }
  out += `${n} problem${n === 1 ? '' : 's'} in ${result.file}\n`;
  if (result.problems.some((p) => isPlaceholderMessage(p.message))) {
    out +=
      `\nThe skeleton needs filling: replace each "<fill in: …>" under ${META} in ${result.file}` +
      ' (a secret: the name and key of the Kubernetes Secret that holds it; an input: its value).\n';
  }
  if (result.problems.some((p) => !isPlaceholderMessage(p.message))) {
    out +=
      'Problems that are no placeholder are in the server.json as the registry serves it: fix ' +
      'them there, or pick another version.\n';
  }
  return `${out}Then run: npx mcpfleet registry check ${dir}\n`;
}

function registerAdd(registry: Command): void {
  withRegistry(
    registry
      .command('add')
      .description(
        'Import a server from an MCP registry: write <dir>/<slug>/server.json as the registry ' +
          'serves it, plus a _meta["dev.mcpfleet/v1"] skeleton naming every secret to bind and ' +
          'input to fill, then check it (exit 1 while the check finds problems)',
      )
      .argument(
        '<server>',
        'registry name of the server, optionally @version (default: the latest)',
      )
      .option('--dir <dir>', 'registry directory holding <slug>/server.json', DEFAULT_DIR)
      .option('--slug <slug>', 'directory name (default: made from the server name)')
      .option('--force', 'replace an existing <slug>/server.json, keeping its settings'),
  )
    .addHelpText(
      'after',
      '\nThe server.json is written as the registry serves it; only _meta["dev.mcpfleet/v1"] is ' +
        'added.\nEach "<fill in: …>" placeholder in it fails the check until replaced.\n' +
        'Examples:\n' +
        '  npx mcpfleet registry add io.github.github/github-mcp-server\n' +
        '  npx mcpfleet registry add io.github.domdomegg/airtable-mcp-server@1.7.3 --slug airtable-crm\n' +
        '  npx mcpfleet registry add com.example/billing --registry-url https://mcp.example.com\n' +
        '  npx mcpfleet registry add io.github.github/github-mcp-server@0.33.0 --slug github --force',
    )
    .action(
      async (
        server: string,
        options: RegistryOptions & { dir: string; slug?: string; force?: boolean },
      ) => {
        const { addServer, parseServerRef } = await import('../../../registry/import/add.ts');
        const ref = parseServerRef(server);
        const result = await addServer(await clientFor(options), {
          ref,
          dir: options.dir,
          force: options.force === true,
          ...(options.slug !== undefined ? { slug: options.slug } : {}),
        });
        process.stdout.write(await reportAdd(result, options.dir, options.registryUrl));
        process.exitCode = result.problems.length > 0 ? 1 : 0;
      },
    );
}

function registerSearch(registry: Command): void {
  withRegistry(
    registry
      .command('search')
      .description(
        'List the servers of an MCP registry whose name contains <text>, latest versions',
      )
      .argument('<text>', 'part of the server name (the registry matches names, not descriptions)')
      .option(
        '--limit <n>',
        `show at most this many (pages are followed)`,
        parseLimit,
        DEFAULT_LIMIT,
      )
      .option('--json', 'print the registry entries ({ server, _meta }) as a JSON array'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  npx mcpfleet registry search github\n' +
        '  npx mcpfleet registry search filesystem --limit 100 --json | jq ".[].server.name"\n' +
        '  MCPFLEET_REGISTRY_URL=https://mcp.example.com npx mcpfleet registry search billing',
    )
    .action(async (text: string, options: RegistryOptions & { limit: number; json?: boolean }) => {
      const { searchServers, kindsOf } = await import('../../../registry/import/search.ts');
      const { formatTable } = await import('../format.ts');
      const found = await searchServers(await clientFor(options), text, options.limit);
      process.exitCode = 0;
      if (options.json) {
        process.stdout.write(`${JSON.stringify(found.entries, null, 2)}\n`);
        return;
      }
      if (found.entries.length === 0) {
        process.stdout.write(`no server in ${options.registryUrl} has "${text}" in its name\n`);
        return;
      }
      const rows = found.entries.map(({ server }) => [
        server.name,
        String(server.version ?? '-'),
        kindsOf(server),
        typeof server.description === 'string' ? server.description : '',
      ]);
      process.stdout.write(formatTable(['NAME', 'VERSION', 'KINDS', 'DESCRIPTION'], rows));
      if (found.more) {
        process.stdout.write(`(the first ${options.limit}; more match: raise --limit)\n`);
      }
      process.stdout.write('import one: npx mcpfleet registry add <name>[@<version>]\n');
    });
}

/** Adds `add` and `search` to the `registry` command group. */
export function registerRegistryImportCommands(registry: Command): void {
  registerAdd(registry);
  registerSearch(registry);
}
