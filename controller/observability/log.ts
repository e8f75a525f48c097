// Structured logs (pino). One root logger; components take a child with their name,
// requests a child with their request id, a server's lines a child with { server, replica },
// so a line can always be traced back. JSON lines for machines; on a terminal, pino-pretty's
// readable lines: time, level, [server] message, and the record's other fields. Either way
// through a bounded buffer (log-destination.ts): a reader that does not keep up loses lines,
// counted and said, never the controller's memory.
import { pino, type DestinationStream, type Logger } from 'pino';
import { isColorSupported, prettyFactory, type MessageFormatFunc } from 'pino-pretty';
import { LogDestination } from './log-destination.ts';
import type { LogFormat } from './log-format.ts';
import type { ServerLogs } from './server-logs.ts';

export type { Logger };
export {
  LOG_FORMATS,
  resolveLogFormat,
  type LogFormat,
  type LogFormatChoice,
} from './log-format.ts';

export interface LoggerOptions {
  /** trace | debug | info | warn | error | fatal | silent (default: MCPFLEET_LOG_LEVEL or info) */
  level?: string;
  /**
   * Where lines go: a stream, or a file descriptor; default stdout (1). Tests pass a stream to
   * inspect or silence output.
   */
  destination?: NodeJS.WritableStream | number;
  /** Log bytes held for a destination that does not keep up, beyond which lines are dropped. */
  maxBufferedBytes?: number;
  /** JSON lines (default), or pino-pretty's readable ones. */
  format?: LogFormat;
  /** Also keeps each server's lines (those with a `server` binding) here, for `mcpfleet logs`. */
  serverLogs?: ServerLogs;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.MCPFLEET_LOG_LEVEL ?? 'info';
  const base = { service: 'mcpfleet' };
  const destination = new LogDestination({
    target: options.destination ?? 1,
    maxBufferedBytes: options.maxBufferedBytes,
    // Colour only the terminal itself (a test's stream wants plain text).
    format:
      options.format === 'pretty'
        ? prettyFormat(options.destination === undefined && isColorSupported)
        : undefined,
  });
  const serverLogs = options.serverLogs;
  // A tee rather than pino.multistream: both get every line the level lets through, and
  // neither has a level of its own to keep in step with the logger's.
  const stream: DestinationStream = serverLogs
    ? {
        write(line: string): void {
          destination.write(line);
          serverLogs.write(line);
        },
      }
    : destination;
  destinations.set(stream, destination);
  return pino({ level, base }, stream);
}

const destinations = new WeakMap<object, LogDestination>();

/**
 * Where `logger` (createLogger's, or a child of it) writes: its dropped-line count is a
 * metric. Undefined for other loggers (silentLogger's).
 */
export function logDestinationOf(logger: Logger): LogDestination | undefined {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  return typeof stream === 'object' && stream !== null ? destinations.get(stream) : undefined;
}

/** A logger that drops everything: for tests and benchmarks that measure, not read. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Fields a reader of the terminal does not need on every line (the JSON keeps them all). */
const PRETTY_HIDDEN = 'pid,hostname,service,component,server,replica,stdout,stderr';

/**
 * A line of a server's process output reads as `[slug] <the line>`; the controller's lines
 * about a server as `[slug] <message>`; the others as the message alone.
 */
const prettyMessage: MessageFormatFunc = (log, messageKey, _levelLabel, { colors }) => {
  const output =
    typeof log.stderr === 'string'
      ? log.stderr
      : typeof log.stdout === 'string'
        ? log.stdout
        : undefined;
  const message = output ?? String(log[messageKey] ?? '');
  return typeof log.server === 'string'
    ? `${colors.magenta(`[${log.server}]`)} ${message}`
    : message;
};

/**
 * pino-pretty's formatter, called in-line (its stream form parses on later ticks, so the last
 * lines before process.exit could be lost): each JSON line is made readable as it is written.
 */
function prettyFormat(colorize: boolean): (line: string) => string {
  return prettyFactory({
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: PRETTY_HIDDEN,
    singleLine: true,
    messageFormat: prettyMessage,
  });
}
