// Specs that run the hostile server (test/fixtures/hostile-server.ts) on the local runtime,
// and what the containment tests read of its processes: the PIDs it wrote to its PID file,
// and whether a PID still runs (a zombie does not: it only waits to be reaped).
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { WorkloadSpec } from '../../../registry/catalog/spec.ts';
import { httpFixture, stdioFixture } from '../fleet/specs.ts';
import { HOSTILE_SERVER, waitFor } from '../support/processes.ts';

function hostileLaunch(): WorkloadSpec['local'] {
  return { runnable: true, command: process.execPath, args: [HOSTILE_SERVER], requires: [] };
}

/** The hostile server over Streamable HTTP, with `env` (HOSTILE=…, HOSTILE_PID_FILE=…). */
export function hostileHttp(slug: string, env: Record<string, string>): WorkloadSpec {
  const spec = httpFixture(slug, 'hostile', { env: { HOSTILE_TRANSPORT: 'http', ...env } });
  return { ...spec, local: hostileLaunch() };
}

/** The hostile server over stdio, behind the bridge. */
export function hostileStdio(slug: string, env: Record<string, string>): WorkloadSpec {
  const spec = stdioFixture(slug, 'hostile', { env });
  return { ...spec, local: hostileLaunch() };
}

/** A fresh path for a hostile server's HOSTILE_PID_FILE. */
export function pidFilePath(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'mcpfleet-hostile-')), 'pids.json');
}

/** Every PID the hostile server reported (itself, its grandchildren, its orphans). */
export async function hostilePids(pidFile: string, timeoutMs = 15_000): Promise<number[]> {
  await waitFor(() => existsSync(pidFile), timeoutMs, 'the hostile server to write its PIDs');
  const { pid, grandchildren, orphans } = JSON.parse(readFileSync(pidFile, 'utf8')) as {
    pid: number;
    grandchildren: number[];
    orphans: number[];
  };
  return [pid, ...grandchildren, ...orphans];
}

/** The PIDs every hostile process that wrote to HOSTILE_PID_DIR `dir` reported. */
export function hostilePidsIn(dir: string): number[] {
  return readdirSync(dir).flatMap((name) => {
    const { pid, grandchildren, orphans } = JSON.parse(
      readFileSync(path.join(dir, name), 'utf8'),
    ) as { pid: number; grandchildren: number[]; orphans: number[] };
    return [pid, ...grandchildren, ...orphans];
  });
}

/** Whether `pid` is a running process (not gone, not a zombie). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Waits until none of `pids` runs; the error names the ones left. */
export async function waitUntilGone(pids: number[], timeoutMs = 10_000): Promise<void> {
  try {
    await waitFor(() => pids.every((pid) => !running(pid)), timeoutMs, 'every process to go');
  } catch {
    throw new Error(`still running after ${timeoutMs} ms: ${pids.filter(running).join(', ')}`);
  }
}
