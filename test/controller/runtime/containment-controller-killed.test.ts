// Children die with the controller, whatever kills it: a controller process killed with
// SIGKILL (no exit handler runs) leaves none of its servers' processes behind — the HTTP
// server it started, the stdio children of its bridge, their setsid'd grandchildren and
// orphans — nor the watchdog that killed them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readProcessTable } from '../../../controller/bridge/process-tree.ts';
import { initializeBody } from '../support/mcp-messages.ts';
import { waitFor } from '../support/processes.ts';
import {
  hostileHttp,
  hostilePids,
  hostilePidsIn,
  hostileStdio,
  pidFilePath,
  running,
  waitUntilGone,
} from './hostile-processes.ts';

const CONTROLLER_MAIN = fileURLToPath(new URL('./controller-main.ts', import.meta.url));

/** PIDs whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  return [...readProcessTable().values()].filter((p) => p.ppid === pid).map((p) => p.pid);
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function watchdogsOf(pid: number): number[] {
  return childrenOf(pid).filter((child) => commandLine(child).includes('watchdog-process.ts'));
}

describe('containment: children die with a controller killed by SIGKILL', function () {
  this.timeout(180_000);

  for (const watchdogKilledFirst of [false, true]) {
    const title = watchdogKilledFirst
      ? 'the same when its watchdog was killed first: another one took over'
      : "leaves no process of an HTTP server's tree, nor the watchdog";
    it(title, async () => {
      const pidFile = pidFilePath();
      const spec = hostileHttp('killed', {
        HOSTILE: 'grandchildren,orphans,ignore-sigterm',
        HOSTILE_PID_FILE: pidFile,
      });
      // And a stdio server behind the controller's own bridge.
      const stdioPidDir = path.dirname(pidFilePath());
      const stdio = hostileStdio('killed-stdio', {
        HOSTILE: 'grandchildren,orphans',
        HOSTILE_PID_DIR: stdioPidDir,
      });
      const controller = spawn(process.execPath, [CONTROLLER_MAIN], {
        env: { ...process.env, MCPFLEET_TEST_SPECS: JSON.stringify([spec, stdio]) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        let out = '';
        controller.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
        await waitFor(() => /listening on (\S+)/.test(out), 90_000, 'the controller to serve');
        const url = /listening on (\S+)/.exec(out)![1]!;
        // Waking the servers: an initialize through the gateway.
        for (const slug of ['killed', 'killed-stdio']) {
          const answer = await fetch(`${url}/servers/${slug}/mcp`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              accept: 'application/json, text/event-stream',
            },
            body: initializeBody(),
          });
          assert.equal(answer.status, 200, `${url}: ${await answer.text()}\n${out}`);
        }
        const pids = await hostilePids(pidFile);
        // The stdio server's children: a session's and the warm spare (the wake check's own
        // child was stopped already), each with its grandchildren and orphan.
        await waitFor(
          () => hostilePidsIn(stdioPidDir).filter(running).length >= 8,
          15_000,
          'two stdio children',
        );
        const stdioPids = hostilePidsIn(stdioPidDir).filter(running);
        assert.ok(childrenOf(controller.pid!).includes(pids[0]!), 'the server is its child');
        const [first, ...others] = watchdogsOf(controller.pid!);
        assert.ok(first !== undefined && others.length === 0, 'and so is one watchdog');
        if (watchdogKilledFirst) {
          process.kill(first, 'SIGKILL');
          await waitFor(
            () => watchdogsOf(controller.pid!).some((pid) => pid !== first),
            10_000,
            'a new watchdog',
          );
        }
        const everything = [...new Set([...childrenOf(controller.pid!), ...pids, ...stdioPids])];
        assert.ok(everything.every(running));

        controller.kill('SIGKILL');
        await waitUntilGone(everything, 15_000);
      } finally {
        if (controller.exitCode === null) controller.kill('SIGKILL');
      }
    });
  }
});
