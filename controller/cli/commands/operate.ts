// `mcpfleet status | wake | sleep | events | logs`: operate a running controller through its
// management API. Human tables by default, the API's JSON with --json. `status --watch`,
// `events --follow` and `logs --follow` run until Ctrl-C, which ends them with exit 0.
import { setTimeout as sleepFor } from 'node:timers/promises';
import { Command, Option } from 'commander';
import { formatDuration, parseDuration } from '../../../registry/catalog/duration.ts';
import { DEFAULT_LOG_LINES, MAX_LOG_LINES } from '../../api/query.ts';
import { EVENT_TYPES, type ServerStatus } from '../../api/types.ts';
import type { ApiClient } from '../api-client.ts';
import {
  formatEvents,
  formatFollowedEvent,
  formatFollowedEventsHeader,
  formatLogLine,
  formatRegistry,
  formatServerDetail,
  formatServers,
  formatTime,
} from '../format.ts';
import { parseCount } from '../option-parser.ts';
import {
  clientFor,
  parsePositiveDuration,
  print,
  withConnection,
  type ConnectionOptions,
} from './connection-options.ts';

const MAX_EVENTS = 1000;
const DEFAULT_WATCH_INTERVAL = '2s';
/** Clears a terminal and puts the cursor top left, as watch(1) does between snapshots. */
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export function registerOperateCommands(program: Command): void {
  withConnection(
    program
      .command('status')
      .description('Show the state of every server, or of one, on a running controller')
      .argument('[slug]', 'one server (default: all)')
      .option('-w, --watch', 'redraw it every --interval until Ctrl-C')
      .option(
        '--interval <duration>',
        `with --watch: how often, e.g. 5s (default ${DEFAULT_WATCH_INTERVAL})`,
        parsePositiveDuration,
      ),
    [
      'mcpfleet status',
      'mcpfleet status everything --json',
      'mcpfleet status --watch --interval 5s',
    ],
  ).action(
    async (
      slug: string | undefined,
      options: ConnectionOptions & { watch?: boolean; interval?: number },
    ) => {
      if (options.interval !== undefined && !options.watch) {
        throw new Error('--interval applies only with --watch');
      }
      if (!options.watch) {
        const snapshot = await statusSnapshot(clientFor(options), slug, options.json);
        print(snapshot);
        return;
      }
      await untilInterrupted((signal) =>
        watchStatus(
          slug,
          options,
          options.interval ?? parseDuration(DEFAULT_WATCH_INTERVAL),
          signal,
        ),
      );
    },
  );

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
      .option('--limit <n>', `how many events, 1 to ${MAX_EVENTS} (default 100)`, (value) =>
        parseCount(value, MAX_EVENTS),
      )
      .option(
        '-f, --follow',
        'print the last --limit events oldest first, then each new one as it happens, until Ctrl-C',
      ),
    [
      'mcpfleet events',
      'mcpfleet events everything --type wake --limit 5',
      'mcpfleet events --follow --type wake',
    ],
  ).action(
    async (
      slug: string | undefined,
      options: ConnectionOptions & { type?: string; limit?: number; follow?: boolean },
    ) => {
      const query = {
        ...(slug !== undefined ? { server: slug } : {}),
        ...(options.type !== undefined ? { type: options.type } : {}),
        ...(options.limit !== undefined ? { limit: options.limit } : {}),
      };
      const client = clientFor(options);
      if (!options.follow) {
        const events = await client.listEvents(query);
        print(options.json ? { events } : formatEvents(events));
        return;
      }
      await untilInterrupted((signal) =>
        client.followEvents(
          query,
          (event) =>
            print(options.json ? `${JSON.stringify(event)}\n` : formatFollowedEvent(event)),
          // The header once the controller accepted: a refusal prints nothing on stdout.
          { signal, onOpen: () => options.json || print(formatFollowedEventsHeader()) },
        ),
      );
    },
  );

  withConnection(
    program
      .command('logs')
      .description(
        "Show a server's recent log lines: its processes' stdout and stderr, and what the " +
          'controller logged about it (kept in the controller, the last 1000 per server)',
      )
      .argument('<slug>', 'the server')
      .option(
        '-n, --lines <n>',
        `how many of the last lines, 1 to ${MAX_LOG_LINES} (default ${DEFAULT_LOG_LINES})`,
        (value) => parseCount(value, MAX_LOG_LINES),
      )
      .option('-f, --follow', 'then keep printing new lines as they come, until Ctrl-C'),
    ['mcpfleet logs everything', 'mcpfleet logs everything --follow --lines 20'],
  ).action(
    async (slug: string, options: ConnectionOptions & { lines?: number; follow?: boolean }) => {
      const client = clientFor(options);
      if (!options.follow) {
        const lines = await client.getLogs(slug, options.lines);
        print(options.json ? { lines } : lines.map(formatLogLine).join(''));
        return;
      }
      await untilInterrupted((signal) =>
        client.followLogs(
          slug,
          options.lines,
          (line) => print(options.json ? `${JSON.stringify(line)}\n` : formatLogLine(line)),
          { signal },
        ),
      );
    },
  );
}

/** What `status` prints once: every server and the registry, or one server. */
async function statusSnapshot(
  client: ApiClient,
  slug: string | undefined,
  json: boolean | undefined,
): Promise<string | object> {
  if (slug !== undefined) {
    const server = await client.getServer(slug);
    return json ? server : formatServerDetail(server);
  }
  // A controller older than /api/v1/registry still gets its server table.
  const [servers, registry] = await Promise.all([
    client.listServers(),
    client.getRegistry().catch(() => undefined),
  ]);
  return json
    ? { servers, ...(registry ? { registry } : {}) }
    : formatServers(servers) + (registry ? formatRegistry(registry) : '');
}

/**
 * `status --watch`: a snapshot every `intervalMs`. On a terminal each one replaces the last
 * (the screen is cleared); piped, they follow each other under a `--- <time> ---` line; with
 * --json, one JSON document per line. The first snapshot failing ends the watch (a wrong
 * --url); a later failure is shown in place of the table and retried.
 */
async function watchStatus(
  slug: string | undefined,
  options: ConnectionOptions,
  intervalMs: number,
  signal: AbortSignal,
): Promise<void> {
  const client = clientFor(options, signal);
  const terminal = process.stdout.isTTY === true && !options.json;
  const command = `mcpfleet status${slug === undefined ? '' : ` ${slug}`}`;
  for (let first = true; !signal.aborted; first = false) {
    let body: string;
    try {
      const snapshot = await statusSnapshot(client, slug, options.json);
      body = typeof snapshot === 'string' ? snapshot : `${JSON.stringify(snapshot)}\n`;
    } catch (err) {
      if (signal.aborted) return;
      if (first) throw err;
      body = `mcpfleet: ${err instanceof Error ? err.message : String(err)}\n`;
    }
    const at = formatTime(new Date().toISOString());
    if (options.json) print(body);
    else if (terminal) {
      print(`${CLEAR_SCREEN}Every ${formatDuration(intervalMs)}: ${command}    ${at}\n\n${body}`);
    } else print(`--- ${at} ---\n${body}`);
    try {
      await sleepFor(intervalMs, undefined, { signal });
    } catch {
      return; // Ctrl-C
    }
  }
}

/**
 * Runs `work` with a signal that Ctrl-C (SIGINT) or SIGTERM aborts; work that ends because of
 * it ends the command normally (exit 0).
 */
async function untilInterrupted(work: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const interrupted = new AbortController();
  const stop = (): void => interrupted.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    await work(interrupted.signal);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
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
