// A server's whole process tree goes when it stops, not only its process group: the hostile
// server starts grandchildren in sessions of their own (setsid, out of its group) and an
// orphan re-parented to init, all ignoring SIGTERM. Stopping the replica sends SIGTERM to
// every one of them, then SIGKILL after the grace; a server that crashes takes what it left
// behind with it. Real processes on the real local runtime, over HTTP and stdio.
import assert from 'node:assert/strict';
import { silentLogger } from '../../../controller/observability/log.ts';
import { LocalRuntime } from '../../../controller/runtime/local.ts';
import {
  hostileHttp,
  hostilePids,
  hostileStdio,
  pidFilePath,
  running,
  waitUntilGone,
} from './hostile-processes.ts';

describe('containment: a server leaves no process behind', function () {
  this.timeout(30_000);
  const runtime = new LocalRuntime({ logger: silentLogger(), killGraceMs: 300 });
  const HABITS = 'grandchildren,orphans';

  it('an HTTP server: its setsid grandchildren and its orphan go on stop, SIGTERM first', async () => {
    const pidFile = pidFilePath();
    const replica = await runtime.start(
      hostileHttp('tree-http', { HOSTILE: HABITS, HOSTILE_PID_FILE: pidFile }),
    );
    const pids = await hostilePids(pidFile);
    assert.equal(pids.length, 4, 'the server, two grandchildren, one orphan');
    assert.ok(pids.every(running));
    await replica.stop();
    // The server itself does not ignore SIGTERM: it got one before anything was killed.
    assert.match((await replica.exited).reason, /SIGTERM/);
    await waitUntilGone(pids);
  });

  it('a stdio server behind the bridge: the same, when the bridge closes', async () => {
    const pidFile = pidFilePath();
    // The warm spare starts at once: its processes are there before any session.
    const replica = await runtime.start(
      hostileStdio('tree-stdio', {
        HOSTILE: `${HABITS},ignore-sigterm`,
        HOSTILE_PID_FILE: pidFile,
      }),
    );
    const pids = await hostilePids(pidFile);
    assert.ok(pids.every(running));
    await replica.stop();
    await waitUntilGone(pids);
  });

  it('a server that crashes takes its grandchildren and orphans with it', async () => {
    const pidFile = pidFilePath();
    const replica = await runtime.start(
      hostileHttp('tree-crash', {
        HOSTILE: HABITS,
        HOSTILE_PID_FILE: pidFile,
        HOSTILE_EXIT_MS: '100',
      }),
    );
    const pids = await hostilePids(pidFile);
    const exit = await replica.exited;
    assert.equal(exit.expected, false);
    assert.match(exit.reason, /exited with code 3/);
    await waitUntilGone(pids);
    await replica.stop();
  });
});
