// `mcpfleet serve` flags for the HTTP layer's connection limits (connections/connection-limits.ts):
// the cap, the probe reserve, and the header and body deadlines.
import { Option, type Command } from 'commander';
import { parseDuration } from '../../../registry/catalog/duration.ts';
import type { ConnectionLimits } from '../../connections/connection-limits.ts';
import { parser } from '../option-parser.ts';

export interface ConnectionFlags {
  maxConnections?: number;
  probeReserve?: number;
  headersTimeout?: number;
  bodyTimeout?: number;
}

export function parseCount(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
    throw new Error(`"${text}" is not a whole number`);
  }
  return value;
}

export function addConnectionOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--max-connections <n>',
        'open client connections at most; at the cap the longest-idle one is closed to admit a new one ' +
          '(default: from the descriptor limit, (ulimit -n - 128) / 2, at most 16384)',
      )
        .env('MCPFLEET_MAX_CONNECTIONS')
        .argParser(parser(parseCount)),
    )
    .addOption(
      new Option(
        '--probe-reserve <n>',
        'connections below the cap kept for /healthz, /readyz, /metrics and /api/v1 ' +
          '(default: a 16th of the cap, at most 32)',
      )
        .env('MCPFLEET_PROBE_RESERVE')
        .argParser(parser(parseCount)),
    )
    .addOption(
      new Option(
        '--headers-timeout <duration>',
        'time for request headers, from accept; a socket that sends nothing is closed then (408) (default 10s)',
      )
        .env('MCPFLEET_HEADERS_TIMEOUT')
        .argParser(parser(parseDuration)),
    )
    .addOption(
      new Option(
        '--body-timeout <duration>',
        'time for a whole MCP request body; a slower one gets 408 (default 30s)',
      )
        .env('MCPFLEET_BODY_TIMEOUT')
        .argParser(parser(parseDuration)),
    );
}

/** The limits given on the command line or in the environment; the rest stays default. */
export function connectionLimitsOf(flags: ConnectionFlags): Partial<ConnectionLimits> {
  const limits: Partial<ConnectionLimits> = {};
  if (flags.maxConnections !== undefined) limits.maxConnections = flags.maxConnections;
  if (flags.probeReserve !== undefined) limits.probeReserve = flags.probeReserve;
  if (flags.headersTimeout !== undefined) limits.headersTimeoutMs = flags.headersTimeout;
  if (flags.bodyTimeout !== undefined) limits.bodyTimeoutMs = flags.bodyTimeout;
  return limits;
}
