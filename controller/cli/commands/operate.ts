// `mcpfleet status | wake | sleep | events`: operate a running controller through its
// management API. Human tables by default, the API's JSON with --json.
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../../../registry/catalog/duration.ts';
import { EVENT_TYPES, type ServerStatus } from '../../api/types.ts';
import { ApiClient, DEFAULT_CONTROLLER_URL } from '../api-client.ts';
import { formatEvents, formatRegistry, formatServerDetail, formatServers } from '../format.ts';

interface ConnectionOptions {
  url: string;
  json?: boolean;
  timeout: number;
}

const MAX_EVENTS = 1000;

export function registerOperateCommands(program: Command): void {
  withConnection(
    program
      .command('status')
      .description('Show the state of every server, or of one, on a running controller')
      .argument('[slug]', 'one server (default: all)'),
    ['mcpfleet status', 'mcpfleet status everything --json'],
  ).action(async (slug: string | undefined, options: ConnectionOptions) => {
    const client = clientFor(options);
    if (slug === undefined) {
      // A controller older than /api/v1/registry still gets its server table.
      const [servers, registry] = await Promise.all([
        client.listServers(),
        client.getRegistry().catch(() => undefined),
      ]);
      print(
        options.json
          ? { servers, ...(registry ? { registry } : {}) }
          : formatServers(servers) + (registry ? formatRegistry(registry) : ''),
      );
    } else {
      const server = await client.getServer(slug);
      print(options.json ? server : formatServerDetail(server));
    }
  });

  withConnection(
    program
      .command('wake')
      .description('Wake a server now and wait until it is ready (or its wake fails)')
      .argument('<slug>', 'the server to wake'),
    ['mcpfleet wake everything', 'mcpfleet wake everything --url http://10.0.0.5:8080'],
    // A wake starts processes and waits for a real MCP round trip: give it time.
    '2m',
  ).action(async (slug: string, options: ConnectionOptions) => {
    const server = await clientFor(options).wake(slug);
    print(options.json ? server : describeWake(server));
    if (server.state !== 'ready') {
      throw new Error(`${slug} is ${server.state}, not ready${reason(server)}`);
    }
  });

  withConnection(
    program
      .command('sleep')
      .description('Put a server to sleep now: drain in-flight requests, then stop it')
      .argument('<slug>', 'the server to put to sleep'),
    ['mcpfleet sleep everything'],
    '2m',
  ).action(async (slug: string, options: ConnectionOptions) => {
    const server = await clientFor(options).sleep(slug);
    print(options.json ? server : `${server.slug}: ${server.state}\n`);
  });

  withConnection(
    program
      .command('events')
      .description('List recent events (wake, sleep, health, restart, failed...), newest first')
      .argument('[slug]', 'only this server (default: all)')
      .addOption(
        new Option('--type <type>', 'only events of this type, e.g. wake').choices(EVENT_TYPES),
      )
      .option('--limit <n>', `how many events, 1 to ${MAX_EVENTS} (default 100)`, parseLimit),
    ['mcpfleet events', 'mcpfleet events everything --type wake --limit 5'],
  ).action(
    async (
      slug: string | undefined,
      options: ConnectionOptions & { type?: string; limit?: number },
    ) => {
      const events = await clientFor(options).listEvents({
        ...(slug !== undefined ? { server: slug } : {}),
        ...(options.type !== undefined ? { type: options.type } : {}),
        ...(options.limit !== undefined ? { limit: options.limit } : {}),
      });
      print(options.json ? { events } : formatEvents(events));
    },
  );
}

/** The options every operate command shares, and its examples. */
function withConnection(command: Command, examples: string[], timeout = '10s'): Command {
  return command
    .addOption(
      new Option('--url <url>', 'controller base URL')
        .env('MCPFLEET_URL')
        .default(DEFAULT_CONTROLLER_URL),
    )
    .addOption(
      new Option('--timeout <duration>', 'give up after this long, e.g. 30s')
        .default(parseDuration(timeout), timeout)
        .argParser(parseTimeout),
    )
    .option('--json', 'print the API JSON instead of a table')
    .addHelpText(
      'after',
      `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((e) => `  ${e}\n`).join('')}`,
    );
}

function clientFor(options: ConnectionOptions): ApiClient {
  return new ApiClient({ url: options.url, timeoutMs: options.timeout });
}

function print(value: string | object): void {
  process.stdout.write(typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`);
}

function describeWake(server: ServerStatus): string {
  const took =
    server.lastWakeDurationMs === null
      ? ''
      : ` (last wake took ${Math.round(server.lastWakeDurationMs)}ms)`;
  return `${server.slug}: ${server.state}${took}\n`;
}

function reason(server: ServerStatus): string {
  return server.lastError ? `: ${server.lastError}` : '';
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_EVENTS) {
    throw new InvalidArgumentError(`use a whole number from 1 to ${MAX_EVENTS}.`);
  }
  return n;
}

function parseTimeout(value: string): number {
  try {
    const ms = parseDuration(value);
    if (ms <= 0) throw new Error('must be more than 0');
    return ms;
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}
