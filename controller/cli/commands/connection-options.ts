// The options every command that calls a running controller shares: where it is (--url,
// MCPFLEET_URL), who is calling (--token, MCPFLEET_TOKEN), how long to wait, and --json.
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../../../registry/catalog/duration.ts';
import { ApiClient, DEFAULT_CONTROLLER_URL } from '../api-client.ts';
import { TOKEN_ENV } from '../credential.ts';

export interface ConnectionOptions {
  url: string;
  json?: boolean;
  timeout: number;
  token?: string;
}

/** Adds the shared options, and the command's examples to its help. */
export function withConnection(command: Command, examples: string[], timeout = '10s'): Command {
  return command
    .addOption(
      new Option('--url <url>', 'controller base URL')
        .env('MCPFLEET_URL')
        .default(DEFAULT_CONTROLLER_URL),
    )
    .addOption(
      new Option(
        '--token <token>',
        'credential sent as a bearer token: an access token or an API key (mcpfleet keys)',
      ).env(TOKEN_ENV),
    )
    .addOption(
      new Option('--timeout <duration>', 'give up after this long, e.g. 30s')
        .default(parseDuration(timeout), timeout)
        .argParser(parsePositiveDuration),
    )
    .option('--json', 'print the API JSON instead of a table')
    .addHelpText(
      'after',
      `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((e) => `  ${e}\n`).join('')}`,
    );
}

export function clientFor(options: ConnectionOptions, signal?: AbortSignal): ApiClient {
  return new ApiClient({
    url: options.url,
    timeoutMs: options.timeout,
    ...(options.token ? { token: options.token } : {}),
    ...(signal ? { signal } : {}),
  });
}

export function print(value: string | object): void {
  process.stdout.write(typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`);
}

/** A duration above 0, e.g. 30s (--timeout, --interval). */
export function parsePositiveDuration(value: string): number {
  try {
    const ms = parseDuration(value);
    if (ms <= 0) throw new Error('must be more than 0');
    return ms;
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}
