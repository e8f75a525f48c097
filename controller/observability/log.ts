// Structured JSON logs (pino). One root logger; components take a child with their name,
// requests a child with their request id, so a line can always be traced back.
import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** trace | debug | info | warn | error | fatal | silent (default: MCPFLEET_LOG_LEVEL or info) */
  level?: string;
  /** Where lines go; default stdout. Tests pass a stream to inspect or silence output. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.MCPFLEET_LOG_LEVEL ?? 'info';
  const base = { service: 'mcpfleet' };
  return options.destination ? pino({ level, base }, options.destination) : pino({ level, base });
}

/** A logger that drops everything: for tests and benchmarks that measure, not read. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
