// The kubelet's logger: four levels, a message and optional fields. The default prints warnings
// and errors to stderr, and everything when MCPFLEET_KUBELET_DEBUG is set.
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export function defaultLogger(): Logger {
  const verbose = Boolean(process.env.MCPFLEET_KUBELET_DEBUG);
  const write =
    (level: string, enabled: boolean) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (!enabled) return;
      const suffix = fields && Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : '';
      process.stderr.write(`[kubelet ${level}] ${message}${suffix}\n`);
    };
  return {
    debug: write('debug', verbose),
    info: write('info', verbose),
    warn: write('warn', true),
    error: write('error', true),
  };
}

/** Accepts a partial logger (e.g. pino or console) and fills the gaps with no-ops. */
export function toLogger(partial: Partial<Logger> | undefined): Logger {
  if (!partial) return defaultLogger();
  const noop = (): void => undefined;
  return {
    debug: partial.debug?.bind(partial) ?? noop,
    info: partial.info?.bind(partial) ?? noop,
    warn: partial.warn?.bind(partial) ?? noop,
    error: partial.error?.bind(partial) ?? noop,
  };
}
