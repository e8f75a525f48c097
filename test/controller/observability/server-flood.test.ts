// The whole controller with a server that floods its stderr (the hostile fixture, 100,000
// lines): the server is marked unhealthy with the reason while it floods, in the API's view
// and in `mcpfleet status`, and recovers the mark once the flood stopped; the lines over the
// rate are counted in mcpfleet_server_output_dropped_total, and what reached the log is the
// rate, not the flood.
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { FleetEvent, ServerStatus } from '../../../controller/api/types.ts';
import { createLogger } from '../../../controller/observability/log.ts';
import { ServerLogs } from '../../../controller/observability/server-logs.ts';
import { startController, type RunningController } from '../../../controller/start.ts';
import { runCli } from '../cli/run-cli.ts';
import { stdioFixture } from '../fleet/specs.ts';
import { logRecorder } from '../support/log-recorder.ts';
import { HOSTILE_SERVER, waitFor } from '../support/processes.ts';

const FLOOD_LINES = 100_000;
const RATE = { linesPerSecond: 20, burst: 50, intervalMs: 300 };

describe('controller: a server that floods its output', function () {
  this.timeout(60_000);
  let controller: RunningController;
  const log = logRecorder();

  before(async function () {
    const serverLogs = new ServerLogs();
    controller = await startController({
      specs: [
        {
          ...stdioFixture('hostile', 'hostile', {
            env: { HOSTILE: 'stderr-flood', HOSTILE_FLOOD_LINES: String(FLOOD_LINES) },
          }),
          local: {
            runnable: true,
            command: process.execPath,
            args: [HOSTILE_SERVER],
            requires: [],
          },
        },
      ],
      port: 0,
      dataDir: 'memory://',
      logger: createLogger({ level: 'info', destination: log.stream, serverLogs }),
      serverLogs,
      fleet: { runtimeOptions: { outputRate: RATE } },
    });
  });
  after(async function () {
    await controller?.close();
  });

  const status = async (): Promise<ServerStatus> =>
    (await (await request(`${controller.url}/api/v1/servers/hostile`)).body.json()) as ServerStatus;

  it('is marked unhealthy while it floods, counted in metrics, and recovers', async function () {
    const started = performance.now();
    const woke = await request(`${controller.url}/api/v1/servers/hostile/wake`, { method: 'POST' });
    assert.equal(woke.statusCode, 200, await woke.body.text());

    let flooding: ServerStatus | undefined;
    await waitFor(
      async () => {
        const s = await status();
        if (s.healthMark !== null) flooding = s;
        return flooding !== undefined;
      },
      30_000,
      'the health mark',
    );
    assert.equal(flooding!.state, 'ready', 'it still serves');
    assert.match(flooding!.healthMark!, /^log flood: its output is over 20 lines\/s/);
    const cli = await runCli('status', '--url', controller.url);
    assert.match(cli.stdout, /^hostile +ready \(unhealthy\) /m);
    assert.match(cli.stdout, /^hostile: log flood: /m);

    // The flood is finite: the mark goes once an interval passed without a dropped line.
    await waitFor(async () => (await status()).healthMark === null, 45_000, 'the recovery');
    const elapsedS = (performance.now() - started) / 1000;

    const stderrLines = log.records.filter(
      (r) => r.server === 'hostile' && r.stderr !== undefined,
    ).length;
    const metrics = await (await request(`${controller.url}/metrics`)).body.text();
    const dropped = Number(
      /^mcpfleet_server_output_dropped_total\{server="hostile",stream="stderr"\} (\d+)$/m.exec(
        metrics,
      )?.[1],
    );
    assert.ok(dropped > 0, 'dropped lines are counted');
    // At least the one child's whole flood (the wake check may have started a second one).
    assert.ok(stderrLines + dropped >= FLOOD_LINES, `${stderrLines} logged, ${dropped} dropped`);
    assert.ok(stderrLines <= RATE.burst + Math.ceil(RATE.linesPerSecond * elapsedS));
    assert.ok(log.bytes() < 512 * 1024, `${log.bytes()} bytes of log for 10 MB of flood`);
    assert.match(metrics, /^mcpfleet_log_lines_dropped_total 0$/m);

    const { events } = (await (
      await request(`${controller.url}/api/v1/events?server=hostile`)
    ).body.json()) as { events: FleetEvent[] };
    const marks = events.filter((e) => (e.data as { mark?: boolean } | null)?.mark !== undefined);
    assert.deepEqual(
      marks.map((e) => e.type).reverse(),
      ['unhealthy', 'health'],
      'the edges are events (newest first from the API)',
    );
  });
});
