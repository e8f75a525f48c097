// Readiness of a stdio server proves it can initialize. A server that answers ping but never
// initialize (the hostile fixture's `no-initialize`) used to be marked ready on its ping while
// every client then waited on its initialize; now its wake fails with a clear error inside the
// wake deadline, and a good server's wake still leaves the warm spare for the first client.
import assert from 'node:assert/strict';
import { startStdioBridge, type StdioBridge } from '../../../controller/bridge/stdio-bridge.ts';
import { FleetError } from '../../../controller/fleet/fleet.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { closeSharedStore, startTestFleet, type TestFleet } from '../fleet/harness.ts';
import { hostileStdio, stdioFixture } from '../fleet/specs.ts';
import { FIXTURE_SERVER, HOSTILE_SERVER, waitFor } from '../support/processes.ts';

describe('stdio readiness', function () {
  this.timeout(30_000);

  describe('the bridge /readyz', function () {
    let bridge: StdioBridge | undefined;
    afterEach(async () => {
      await bridge?.close();
      bridge = undefined;
    });

    async function readyz(
      command: { command: string; args: string[]; env: Record<string, string> },
      timeoutMs: number,
    ): Promise<{ status: number; body: { ok: boolean; error?: string } }> {
      bridge = await startStdioBridge({
        logger: silentLogger(),
        command,
      });
      const url = new URL(bridge.url);
      url.pathname = '/readyz';
      url.search = `timeout=${timeoutMs}`;
      const res = await fetch(url);
      return { status: res.status, body: (await res.json()) as { ok: boolean; error?: string } };
    }

    it('answers 503 naming initialize for a server that answers ping but never initialize', async () => {
      const command = {
        command: process.execPath,
        args: [HOSTILE_SERVER],
        env: { HOSTILE: 'no-initialize' },
      };
      const { status, body } = await readyz(command, 400);
      assert.equal(status, 503);
      assert.equal(body.ok, false);
      assert.match(body.error!, /did not answer initialize within 400ms/);
      // The checked child is stopped; the warm spare stays.
      await waitFor(() => bridge!.childCount() === 1, 5000, 'the checked child to stop');
    });

    it('answers 503 with the exit and stderr of a server that dies at start', async () => {
      const command = {
        command: process.execPath,
        args: [FIXTURE_SERVER],
        env: { FIXTURE_MODE: 'crash-at-start' },
      };
      const { status, body } = await readyz(command, 5000);
      assert.equal(status, 503);
      assert.match(body.error!, /exited with code 1.*fixture configured to crash at start/s);
    });

    it('answers 200 once a child of its own answered initialize, and keeps the spare', async () => {
      const command = {
        command: process.execPath,
        args: [FIXTURE_SERVER],
        env: { FIXTURE_MODE: 'normal' },
      };
      const { status, body } = await readyz(command, 5000);
      assert.equal(status, 200);
      assert.deepEqual(body, { ok: true });
      await waitFor(() => bridge!.childCount() === 1, 5000, 'the checked child to stop');
    });
  });

  describe('the proof, once per bridge', function () {
    let bridge: StdioBridge | undefined;
    afterEach(async () => {
      await bridge?.close();
      bridge = undefined;
    });

    it("starts when a pod's bridge listens, and later questions are answered without a new process", async () => {
      const probes: boolean[] = [];
      bridge = await startStdioBridge({
        logger: silentLogger(),
        command: {
          command: process.execPath,
          args: [FIXTURE_SERVER],
          env: { FIXTURE_MODE: 'normal' },
        },
        proveOnListen: true,
        onChildExit: (_exit, role, started) => {
          if (role === 'probe') probes.push(started);
        },
      });
      // Nobody asked yet: the bridge's own proof ran a process that answered initialize.
      await waitFor(() => probes.length === 1, 10_000, 'the proof at listen');
      assert.deepEqual(probes, [true]);
      const url = new URL(bridge.url);
      url.pathname = '/readyz';
      for (let i = 0; i < 3; i++) {
        const res = await fetch(url);
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { ok: true });
      }
      assert.equal(bridge.childCount(), 1, 'only the warm spare runs');
      assert.deepEqual(probes, [true], 'no process started for the questions');
    });

    it('does not remember a failure: the next question checks again', async () => {
      let probes = 0;
      bridge = await startStdioBridge({
        logger: silentLogger(),
        command: {
          command: process.execPath,
          args: [FIXTURE_SERVER],
          env: { FIXTURE_MODE: 'crash-at-start' },
        },
        warmSpares: 0,
        proveOnListen: true,
        onChildExit: (_exit, role) => {
          if (role === 'probe') probes++;
        },
      });
      await waitFor(() => probes === 1, 10_000, 'the failed proof at listen');
      const url = new URL(bridge.url);
      url.pathname = '/readyz';
      const res = await fetch(url);
      assert.equal(res.status, 503);
      assert.equal(probes, 2, 'a new process was checked');
    });
  });

  describe('a fleet waking a stdio server', function () {
    let t: TestFleet | undefined;
    afterEach(async () => {
      await t?.fleet.stop();
      t = undefined;
    });
    after(closeSharedStore);

    it('fails the wake of a server that never answers initialize, saying so, before the deadline', async () => {
      t = await startTestFleet([
        hostileStdio('no-init', 'no-initialize', { health: { startupTimeoutMs: 20_000 } }),
      ]);
      const started = Date.now();
      await assert.rejects(t.fleet.acquire('no-init', { kind: 'request' }), (err: unknown) => {
        assert.ok(err instanceof FleetError, String(err));
        assert.equal(err.status, 503);
        assert.match(err.message, /did not answer initialize within 5(\.0)?s/);
        return true;
      });
      assert.ok(Date.now() - started < 20_000, 'failed before the wake deadline');
      assert.notEqual(t.fleet.status('no-init')?.state, 'ready');
    });

    it('wakes a server that answers initialize', async () => {
      t = await startTestFleet([stdioFixture('init-ok', 'normal')]);
      const lease = await t.fleet.acquire('init-ok', { kind: 'request' });
      lease.release();
      assert.equal(t.fleet.status('init-ok')?.state, 'ready');
    });
  });
});
