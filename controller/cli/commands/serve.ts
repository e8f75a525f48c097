// `mcpfleet serve` (= npm start): the controller — MCP gateway, management API, and the
// lifecycle of every registered server — on embedded defaults unless told otherwise.
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../../../registry/catalog/index.ts';
import { parseByteSize } from '../../gateway/byte-size.ts';
import {
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEFAULT_REGISTRY,
  RegistryError,
  describeServers,
  startController,
  type RunningController,
} from '../../start.ts';

interface ServeFlags {
  port: number;
  host: string;
  registry: string;
  databaseUrl?: string;
  redisUrl?: string;
  dataDir: string;
  idleTimeout?: number;
  maxBody?: number;
  allowedOrigins?: string[];
  allowedHosts?: string[];
  logLevel?: string;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new Error(`"${text}" is not a port: use a number from 0 to 65535`);
  }
  return port;
}

function parseList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** commander calls parsers with a previous value; surface our messages as usage errors. */
function parser<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
    }
  };
}

export function registerServeCommand(program: Command): Command {
  return program
    .command('serve')
    .description(
      'Run the controller: the MCP gateway at /servers/<slug>/mcp, the management API at ' +
        '/api/v1, and every registered server as local processes, scaled from zero',
    )
    .addOption(
      new Option('--port <port>', 'port to listen on')
        .env('MCPFLEET_PORT')
        .default(DEFAULT_PORT)
        .argParser(parser(parsePort)),
    )
    .addOption(
      new Option('--host <address>', 'address to listen on (loopback by default)')
        .env('MCPFLEET_HOST')
        .default(DEFAULT_HOST),
    )
    .option('--registry <dir>', 'registry directory holding <slug>/server.json', DEFAULT_REGISTRY)
    .addOption(
      new Option('--database-url <url>', 'PostgreSQL URL (default: embedded PGlite)').env(
        'DATABASE_URL',
      ),
    )
    .addOption(
      new Option('--data-dir <dir>', 'where embedded PGlite keeps its data').default(
        '.mcpfleet/pgdata',
      ),
    )
    .addOption(
      new Option('--redis-url <url>', 'Redis URL (default: in-process coordination)').env(
        'REDIS_URL',
      ),
    )
    .addOption(
      new Option('--idle-timeout <duration>', "override every server's idle timeout, e.g. 2s")
        .env('MCPFLEET_IDLE_TIMEOUT')
        .argParser(parser(parseDuration)),
    )
    .addOption(
      new Option('--max-body <size>', 'largest MCP request body, e.g. 4MiB (default 4MiB)')
        .env('MCPFLEET_MAX_BODY')
        .argParser(parser(parseByteSize)),
    )
    .addOption(
      new Option(
        '--allowed-origins <list>',
        'comma-separated browser Origins allowed besides loopback ones ("*" = any)',
      )
        .env('MCPFLEET_ALLOWED_ORIGINS')
        .argParser(parseList),
    )
    .addOption(
      new Option(
        '--allowed-hosts <list>',
        'comma-separated Host names (name or name:port) allowed besides loopback ones ("*" = any)',
      )
        .env('MCPFLEET_ALLOWED_HOSTS')
        .argParser(parseList),
    )
    .addOption(
      new Option('--log-level <level>', 'log level').env('MCPFLEET_LOG_LEVEL').choices(LOG_LEVELS),
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  npm start\n' +
        '  npx mcpfleet serve --port 9000 --idle-timeout 2s\n' +
        '  DATABASE_URL=postgres://localhost/mcpfleet REDIS_URL=redis://localhost npx mcpfleet serve',
    )
    .action(async (flags: ServeFlags) => {
      let controller: RunningController;
      try {
        controller = await startController({
          registryDir: flags.registry,
          host: flags.host,
          port: flags.port,
          databaseUrl: flags.databaseUrl,
          dataDir: flags.dataDir,
          redisUrl: flags.redisUrl,
          idleTimeoutMs: flags.idleTimeout,
          maxBodyBytes: flags.maxBody,
          allowedOrigins: flags.allowedOrigins,
          allowedHosts: flags.allowedHosts,
          logLevel: flags.logLevel,
        });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        process.stderr.write(
          err instanceof RegistryError ? `${message}\n` : `mcpfleet serve: ${message}\n`,
        );
        process.exitCode = 1;
        return;
      }
      const servers = controller.fleet.list();
      process.stdout.write(
        `mcpfleet controller listening on ${controller.url} ` +
          `(${servers.length} server${servers.length === 1 ? '' : 's'}; API ${controller.url}/api/v1/servers)\n` +
          `${describeServers(controller.url, servers).join('\n')}\n`,
      );
      let signals = 0;
      const shutdown = (signal: NodeJS.Signals): void => {
        signals += 1;
        if (signals > 1) {
          process.stderr.write(`mcpfleet: ${signal} again, exiting now\n`);
          process.exit(1);
        }
        controller.logger.info({ signal }, 'shutting down');
        controller.close().then(
          () => process.exit(0),
          (err: unknown) => {
            controller.logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', shutdown);
      process.on('SIGTERM', shutdown);
    });
}
