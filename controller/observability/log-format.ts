// The log formats `--log-format` offers, apart from log.ts so the command tree can list them
// without loading pino.

export type LogFormat = 'json' | 'pretty';
/** `--log-format` / MCPFLEET_LOG_FORMAT: auto is pretty on a terminal, JSON elsewhere. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormatChoice = (typeof LOG_FORMATS)[number];

/** The format `auto` means here: readable when a person watches stdout. */
export function resolveLogFormat(choice: string | undefined, stdoutIsTTY: boolean): LogFormat {
  if (choice === 'json' || choice === 'pretty') return choice;
  return stdoutIsTTY ? 'pretty' : 'json';
}
