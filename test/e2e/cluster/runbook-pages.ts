// The commands a runbook page gives, read from its Markdown: every line of a fenced block whose
// info string is `sh runbook` is a command the test cluster tries, in page order; a plain `sh`
// block holds commands it cannot try (the page says why). A command written inline instead, as
// `kubectl -n <ns> …` in running text, is reported: it would be a command no test runs. A line
// ending in `\` goes on on the next one, as in the shell: the two are one command, joined by a
// space (what the shell makes of backslash, newline and the indentation).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const RUNBOOKS = join(import.meta.dirname, '../../../docs/runbooks');

export interface RunbookPage {
  file: string;
  /** The `sh runbook` commands, in page order. */
  tried: string[];
  /** Commands in plain `sh` blocks: not tried on the test cluster. */
  untried: string[];
  /** Inline code spans that read as commands (three words or more of kubectl, mcpfleet, curl). */
  inlineCommands: string[];
}

const FENCE = /^\s*```(.*)$/;
const COMMAND_SPAN = /`((?:kubectl|npx mcpfleet|curl)(?: [^`\s]+){2,})`/g;

export function readRunbook(file: string): RunbookPage {
  const page: RunbookPage = { file, tried: [], untried: [], inlineCommands: [] };
  let block: string[] | undefined;
  let continued = '';
  for (const line of readFileSync(join(RUNBOOKS, file), 'utf8').split('\n')) {
    const fence = FENCE.exec(line);
    if (fence) {
      if (block) block = undefined;
      else {
        const info = fence[1]!.trim();
        block = info === 'sh runbook' ? page.tried : info === 'sh' ? page.untried : [];
      }
      continue;
    }
    if (block) {
      const command = continued + line.trim();
      if (command.endsWith('\\')) continued = `${command.slice(0, -1).trimEnd()} `;
      else {
        continued = '';
        if (command && !command.startsWith('#')) block.push(command);
      }
      continue;
    }
    for (const span of line.matchAll(COMMAND_SPAN)) page.inlineCommands.push(span[1]!);
  }
  return page;
}
