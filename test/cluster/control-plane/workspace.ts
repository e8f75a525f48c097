// Folders of one control plane under ${TMPDIR}/mcpfleet-control-plane/: a work folder (PKI, etcd
// data) removed on stop, and a logs folder kept for after the tests (the newest few are kept).
// A work folder records its owner's PID and its children's PIDs, so a later start can kill
// processes that a test run killed with SIGKILL left behind, then remove the folder.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunning } from './pids.ts';

const ROOT = join(tmpdir(), 'mcpfleet-control-plane');
const LOGS = join(ROOT, 'logs');
const KEEP_LOGS = 10;

export interface Workspace {
  dir: string;
  pkiDir: string;
  etcdDataDir: string;
  logsDir: string;
  /** Records a child PID so a later run can reap it if this process dies without stopping it. */
  recordChild(pid: number | undefined): void;
  remove(): void;
}

async function commandLine(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ');
}

/** Kills the leftovers of work folders whose owner is gone, and removes those folders. */
async function reapOrphans(binariesDir: string): Promise<void> {
  let entries: string[];
  try {
    entries = readdirSync(ROOT).filter((name) => name.startsWith('run-'));
  } catch {
    return;
  }
  for (const name of entries) {
    const dir = join(ROOT, name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      // no owner file: a folder being created right now, or a broken one; leave it
      continue;
    }
    if (owner > 0 && isRunning(owner)) continue;
    const children = (await readFile(join(dir, 'children.pids'), 'utf8').catch(() => ''))
      .split('\n')
      .map(Number)
      .filter((pid) => pid > 0);
    for (const pid of children) {
      // Only a process still running one of our binaries: PIDs get reused.
      if ((await commandLine(pid)).startsWith(binariesDir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function pruneLogs(): void {
  try {
    const runs = readdirSync(LOGS).sort();
    for (const old of runs.slice(0, Math.max(0, runs.length - KEEP_LOGS))) {
      rmSync(join(LOGS, old), { recursive: true, force: true });
    }
  } catch {
    // nothing to prune
  }
}

export async function createWorkspace(binariesDir: string, logsDir?: string): Promise<Workspace> {
  await reapOrphans(binariesDir);
  pruneLogs();
  const id = `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const dir = join(ROOT, `run-${id}`);
  const pkiDir = join(dir, 'pki');
  const etcdDataDir = join(dir, 'etcd');
  const logs = logsDir ?? join(LOGS, id);
  mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  mkdirSync(etcdDataDir, { recursive: true, mode: 0o700 });
  mkdirSync(logs, { recursive: true });
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const children: number[] = [];
  return {
    dir,
    pkiDir,
    etcdDataDir,
    logsDir: logs,
    recordChild(pid) {
      if (pid === undefined) return;
      children.push(pid);
      writeFileSync(join(dir, 'children.pids'), `${children.join('\n')}\n`);
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
