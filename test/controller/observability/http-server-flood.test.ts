// An HTTP-transport server floods its stderr (the hostile fixture over Streamable
// HTTP: stdout and stderr are both its log). The local runtime gives the replica one output
// limit: what is logged is the rate, the rest is handed to the fleet's hooks as dropped lines,
// and the flood is raised once, then cleared when the replica stops.
import assert from 'node:assert/strict';
import { createLogger } from '../../../controller/observability/log.ts';
import type { OutputStream } from '../../../controller/observability/output-rate-limit.ts';
import { LocalRuntime } from '../../../controller/runtime/local.ts';
import type { Replica } from '../../../controller/runtime/runtime.ts';
import { httpFixture } from '../fleet/specs.ts';
import { logRecorder } from '../support/log-recorder.ts';
import { HOSTILE_SERVER, waitFor } from '../support/processes.ts';

const RATE = { linesPerSecond: 20, burst: 50, intervalMs: 300 };

describe('local runtime: an HTTP server that floods its output', function () {
  this.timeout(30_000);
  let replica: Replica | undefined;
  afterEach(async () => {
    await replica?.stop();
  });

  it('logs its output at the rate and hands the rest to the hooks as dropped', async function () {
    const log = logRecorder();
    const runtime = new LocalRuntime({
      logger: createLogger({ level: 'info', destination: log.stream }),
      outputRate: RATE,
    });
    const floods: (string | null)[] = [];
    const dropped: Record<OutputStream, number> = { stdout: 0, stderr: 0 };
    const spec = {
      ...httpFixture('hostile-http', 'hostile', {
        env: { HOSTILE: 'stderr-flood', HOSTILE_TRANSPORT: 'http' },
      }),
      local: {
        runnable: true as const,
        command: process.execPath,
        args: [HOSTILE_SERVER],
        requires: [],
      },
    };
    const started = performance.now();
    replica = await runtime.start(spec, {
      onOutputFlood: (reason) => floods.push(reason),
      onOutputDropped: (stream, count) => (dropped[stream] += count),
    });
    await waitFor(() => dropped.stderr > 0, 20_000, 'dropped stderr lines to be handed on');
    assert.equal(floods.length, 1);
    assert.match(floods[0]!, /^log flood: /);
    const logged = log.records.filter((r) => r.stderr !== undefined || r.stdout !== undefined);
    const elapsedS = (performance.now() - started) / 1000;
    assert.ok(
      logged.length <= RATE.burst + Math.ceil(RATE.linesPerSecond * elapsedS),
      `${logged.length} lines in ${elapsedS} s`,
    );
    await replica.stop();
    replica = undefined;
    await waitFor(() => floods.length === 2, 5_000, 'the flood to end with the replica');
    assert.equal(floods[1], null);
  });
});
