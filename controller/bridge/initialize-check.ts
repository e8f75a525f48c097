// The bridge's proof that its server can start serving: a child of its own answers
// `initialize`, takes `notifications/initialized` and answers `ping`, within a time limit, and
// is then stopped. A ping alone proves little: a server may answer ping before initialize and
// never answer initialize at all (then every client waits on it). The check spawns a child
// of its own rather than taking the warm spare, so the spare boots alongside it and is still
// there, uninitialized, for the first client: a wake does not pay for two starts in a row.
// Its answer does not wait for the checked process to exit.
import { formatDuration } from '../../registry/catalog/duration.ts';
import { BridgeSession } from './bridge-session.ts';
import type { StdioChild } from './stdio-child.ts';

export type InitializeCheck = { ok: true } | { ok: false; error: string };

/**
 * The failed check a caller gets when `timeoutMs` passes (naming the step that did not answer:
 * `step()` at that moment) or `signal` aborts, whichever comes first; `clear` when done.
 */
export function checkDeadline(
  timeoutMs: number,
  signal: AbortSignal,
  step: () => string,
): { gaveUp: Promise<InitializeCheck>; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<InitializeCheck>((resolve) => {
    const give = (error: string): void => resolve({ ok: false, error });
    timer = setTimeout(
      () => give(`the MCP server did not answer ${step()} within ${formatDuration(timeoutMs)}`),
      timeoutMs,
    );
    signal.addEventListener('abort', () => give('the check was cancelled'), { once: true });
  });
  return { gaveUp, clear: () => clearTimeout(timer) };
}

/** Runs the check on `child` (which it stops when done), bounded by `timeoutMs` and `signal`. */
export async function checkInitializes(
  child: StdioChild,
  options: {
    protocolVersion: string;
    timeoutMs: number;
    signal: AbortSignal;
    killGraceMs?: number;
  },
): Promise<InitializeCheck> {
  const { timeoutMs, signal } = options;
  const session = new BridgeSession('initialize-check', child, true);
  let step = 'initialize';
  const deadline = checkDeadline(timeoutMs, signal, () => step);
  const exchange = async (): Promise<InitializeCheck> => {
    const init = await session.request('initialize', {
      protocolVersion: options.protocolVersion,
      capabilities: {},
      clientInfo: { name: 'mcpfleet-readiness', version: '1' },
    });
    if (init.error !== undefined)
      return {
        ok: false,
        error: `the MCP server refused initialize: ${JSON.stringify(init.error)}`,
      };
    session.notify('notifications/initialized');
    step = 'ping';
    // Any answer to ping, even an error, is the server speaking MCP after initialize.
    await session.request('ping', {});
    return { ok: true };
  };
  try {
    return await Promise.race([
      exchange().catch((err: unknown) => ({ ok: false as const, error: (err as Error).message })),
      deadline.gaveUp,
    ]);
  } finally {
    deadline.clear();
    session.fail(undefined, 'initialize check done');
    // Not waited for: the answer is known, and the process's exit (its SIGTERM, its grace)
    // is no part of a wake. The bridge tracks the child until it is gone.
    void child.stop(options.killGraceMs);
  }
}
