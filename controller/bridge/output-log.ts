// A child process's stdout or stderr as log lines: one record per line, `{ stderr: <line> }`
// with the message "server stderr", through a logger bound to the server (and replica), so a
// line reads `[<slug>] <line>` on a terminal and lands in `mcpfleet logs <slug>`. A chunk
// that ends mid-line keeps the partial line until its newline comes (or the stream ends).
// Each line takes a token of the replica's output rate limit first (output-rate-limit.ts): a
// flood is sampled and counted, not written out whole.
import type { Logger } from '../observability/log.ts';
import { outputRateLimitOf } from '../observability/output-rate-limit.ts';

/** Longest line logged; the rest of it is cut (a tail of stderr keeps the whole text). */
const MAX_LOGGED_CHARS = 1000;
/** A "line" this long without a newline is logged as it is rather than held further. */
const MAX_PENDING_CHARS = 64 * 1024;

export interface OutputLog {
  write(chunk: string): void;
  /** The stream ended: log what is left of an unterminated last line. */
  end(): void;
}

export function outputLog(logger: Logger, stream: 'stdout' | 'stderr'): OutputLog {
  let pending = '';
  const limit = outputRateLimitOf(logger);
  const log = (line: string): void => {
    if (line.trim().length > 0 && limit.admit(stream)) {
      logger.info({ [stream]: line.slice(0, MAX_LOGGED_CHARS) }, `server ${stream}`);
    }
  };
  return {
    write(chunk) {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) log(line.replace(/\r$/, ''));
      if (pending.length > MAX_PENDING_CHARS) {
        log(pending);
        pending = '';
      }
    },
    end() {
      log(pending);
      pending = '';
    },
  };
}
