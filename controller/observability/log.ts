// Structured logs (pino). One root logger; components take a child with their name,
// requests a child with their request id, a server's lines a child with { server, replica },
// so a line can always be traced back. JSON lines for machines; on a terminal, pino-pretty's
// readable lines: time, level, [server] message, and the record's other fields.
import { pino, type DestinationStream, type Logger } from 'pino';
import { isColorSupported, prettyFactory, type MessageFormatFunc } from 'pino-pretty';
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
  /** Where lines go; default stdout. Tests pass a stream to inspect or silence output. */
  destination?: NodeJS.WritableStream;
  /** JSON lines (default), or pino-pretty's readable ones. */
  format?: LogFormat;
  /** Also keeps each server's lines (those with a `server` binding) here, for `mcpfleet logs`. */
  serverLogs?: ServerLogs;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.MCPFLEET_LOG_LEVEL ?? 'info';
  const base = { service: 'mcpfleet' };
  let stream: DestinationStream | NodeJS.WritableStream | undefined =
    options.format === 'pretty' ? prettyDestination(options.destination) : options.destination;
  const serverLogs = options.serverLogs;
  if (serverLogs) {
    // A tee rather than pino.multistream: both get every line the level lets through, and
    // neither has a level of its own to keep in step with the logger's.
    const out = stream ?? pino.destination(1);
    stream = {
      write(line: string): void {
        out.write(line);
        serverLogs.write(line);
      },
    };
  }
  return stream ? pino({ level, base }, stream) : pino({ level, base });
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
 * lines before process.exit could be lost): each JSON line is written out readable at once.
 */
function prettyDestination(destination?: NodeJS.WritableStream): DestinationStream {
  const out = destination ?? pino.destination({ dest: 1, sync: true });
  const format = prettyFactory({
    // Colour only the terminal itself (a test's stream wants plain text).
    colorize: destination === undefined && isColorSupported,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: PRETTY_HIDDEN,
    singleLine: true,
    messageFormat: prettyMessage,
  });
  return { write: (line: string) => void out.write(format(line)) };
}
