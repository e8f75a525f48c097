// Helpers for tests that spawn real processes: where the fixtures are, whether a PID or a
// process group is still alive, and bounded polling (never a fixed sleep).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const EVERYTHING_BIN = fileURLToPath(
  new URL(
    '../../../node_modules/@modelcontextprotocol/server-everything/dist/index.js',
    import.meta.url,
  ),
);
export const FIXTURE_SERVER = fileURLToPath(
  new URL('../../fixtures/stdio-server.ts', import.meta.url),
);
export const SESSION_STATE_SERVER = fileURLToPath(
  new URL('../../fixtures/session-state-server.ts', import.meta.url),
);
export const MODERN_SERVER = fileURLToPath(
  new URL('../../fixtures/modern-server.ts', import.meta.url),
);

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Live (non-zombie) PIDs in process group `pgid`: empty once the whole group is gone. */
export function groupMembers(pgid: number): number[] {
  try {
    const out = execFileSync('ps', ['-o', 'pid=,stat=', '-g', String(pgid)], { encoding: 'utf8' });
    return out
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter(([pid, stat]) => Number(pid) > 0 && !stat?.startsWith('Z'))
      .map(([pid]) => Number(pid));
  } catch {
    return []; // ps exits 1 when nothing matches
  }
}

/** Polls `check` every 20 ms until it returns true or `timeoutMs` passes. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const FIXTURE_HTTP_SERVER = fileURLToPath(
  new URL('../../fixtures/http-server.ts', import.meta.url),
);

/** The hostile MCP server (floods, huge lines, ignores SIGTERM, setsid grandchildren). */
export const HOSTILE_SERVER = fileURLToPath(
  new URL('../../fixtures/hostile-server.ts', import.meta.url),
);
