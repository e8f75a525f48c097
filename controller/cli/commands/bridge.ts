// `mcpfleet bridge`: the stdio ⇄ Streamable HTTP bridge as a standalone process, the
// entry point of the Kubernetes runner images (one stdio MCP server per pod, served on a
// port). Runs until SIGTERM/SIGINT, then stops every child before exiting.
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../../../registry/catalog/duration.ts';
import { parseByteSize } from '../../gateway/byte-size.ts';

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      throw new InvalidArgumentError(`${name} must be a whole number, got "${value}"`);
    }
    return n;
  };
}

function byteSize(value: string): number {
  try {
    return parseByteSize(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function duration(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function commaList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

export function registerBridgeCommand(program: Command): void {
  program
    .command('bridge')
    .description('Serve a stdio MCP server over Streamable HTTP (one child process per session).')
    .usage('[options] -- <command> [args...]')
    .option('--port <port>', 'port to listen on', positiveInt('--port'), 8080)
    .option(
      '--host <host>',
      'interface to listen on (a pod passes 0.0.0.0; the default keeps it off the network)',
      '127.0.0.1',
    )
    .option('--path <path>', 'MCP endpoint path', '/mcp')
    .option('--max-children <n>', 'most child processes at once', positiveInt('--max-children'), 64)
    .addOption(
      new Option('--session-idle <duration>', 'close sessions idle this long, e.g. 90s, 2h')
        .argParser(duration)
        .default(30 * 60_000, '30m'),
    )
    .addOption(
      new Option(
        '--max-message <size>',
        "largest message the server may send, e.g. 64MiB (larger ones are dropped; a request's answer becomes a JSON-RPC error)",
      )
        .argParser(byteSize)
        .default(16 * 1024 * 1024, '16MiB'),
    )
    .addOption(
      new Option(
        '--allowed-hosts <list>',
        'comma-separated Host names (name or name:port) accepted besides loopback ones ("*" = any; any already when listening beyond loopback)',
      )
        .env('MCPFLEET_ALLOWED_HOSTS')
        .argParser(commaList),
    )
    .addOption(
      new Option(
        '--allowed-origins <list>',
        'comma-separated browser Origins accepted besides loopback ones ("*" = any)',
      )
        .env('MCPFLEET_ALLOWED_ORIGINS')
        .argParser(commaList),
    )
    .option(
      '--no-warm-spare',
      'start no process ahead of the next session (saves one idle process; a new session waits for its process to start)',
    )
    .argument('<command>', 'the stdio MCP server executable')
    .argument('[args...]', 'its arguments (put -- before the command)')
    .action(async (command: string, args: string[], options: BridgeCliOptions) => {
      // Loaded when the bridge runs: the command tree (and --help) loads without pino.
      const [{ startStdioBridge }, { createLogger }] = await Promise.all([
        import('../../bridge/stdio-bridge.ts'),
        import('../../observability/log.ts'),
      ]);
      const logger = createLogger().child({ component: 'bridge' });
      const bridge = await startStdioBridge({
        command: { command, args },
        logger,
        host: options.host,
        port: options.port,
        path: options.path,
        maxChildren: Math.max(1, options.maxChildren),
        sessionIdleMs: options.sessionIdle,
        warmSpares: options.warmSpare ? 1 : 0,
        // In a pod: proven while the pod starts, ready when the controller asks.
        proveOnListen: true,
        maxMessageBytes: options.maxMessage,
        allowedHosts: options.allowedHosts,
        allowedOrigins: options.allowedOrigins,
      });
      logger.info({ url: bridge.url, command, args }, 'stdio bridge listening');
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          logger.info({ signal }, 'stopping stdio bridge');
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          void bridge.close().then(resolve);
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
    });
}

interface BridgeCliOptions {
  port: number;
  host: string;
  path: string;
  maxChildren: number;
  sessionIdle: number;
  maxMessage: number;
  warmSpare: boolean;
  allowedHosts?: string[];
  allowedOrigins?: string[];
}
