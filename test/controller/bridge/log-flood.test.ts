// A real stdio child that floods (the hostile fixture): 100,000 lines of stderr, or of garbage
// on stdout between its answers. What the bridge writes to its log is the replica's rate
// (a burst, then lines per second), never the flood; every line is either logged or counted as
// dropped; the flood is marked while it lasts and over once it stopped; and the child still
// answers a ping meanwhile.
import assert from 'node:assert/strict';
import { startStdioBridge, type StdioBridge } from '../../../controller/bridge/stdio-bridge.ts';
import { createLogger } from '../../../controller/observability/log.ts';
import {
  OutputRateLimit,
  attachOutputRateLimit,
  type OutputStream,
} from '../../../controller/observability/output-rate-limit.ts';
import { logRecorder } from '../support/log-recorder.ts';
import { HOSTILE_SERVER, waitFor } from '../support/processes.ts';

const FLOOD_LINES = 100_000;
const RATE = { linesPerSecond: 20, burst: 50, intervalMs: 300 };

describe('stdio bridge: a child that floods its output', function () {
  this.timeout(60_000);
  let bridge: StdioBridge | undefined;
  afterEach(async () => {
    await bridge?.close();
    bridge = undefined;
  });

  async function flooding(habit: 'stderr-flood' | 'stdout-garbage') {
    const log = logRecorder();
    const logger = createLogger({ level: 'info', destination: log.stream }).child({
      server: 'hostile',
      replica: 'hostile-1',
    });
    const floods: (string | null)[] = [];
    const dropped: Record<OutputStream, number> = { stdout: 0, stderr: 0 };
    attachOutputRateLimit(
      logger,
      new OutputRateLimit(logger, 'hostile', RATE, {
        onFlood: (reason) => floods.push(reason),
        onDropped: (stream, count) => (dropped[stream] += count),
      }),
    );
    const started = performance.now();
    bridge = await startStdioBridge({
      command: {
        command: process.execPath,
        args: [HOSTILE_SERVER],
        env: { HOSTILE: habit, HOSTILE_FLOOD_LINES: String(FLOOD_LINES) },
      },
      logger,
      warmSpares: 1, // one child, flooding from its start
    });
    await waitFor(() => floods.length >= 1, 30_000, 'the flood to be noticed');
    assert.match(floods[0]!, /^log flood: its output is over 20 lines\/s/);
    // The child still serves: a sessionless ping is answered by it between its floods.
    const pong = await fetch(bridge.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    assert.deepEqual(await pong.json(), { jsonrpc: '2.0', id: 1, result: {} });
    await waitFor(() => floods.length >= 2, 45_000, 'the flood to be over');
    assert.equal(floods[1], null);
    const elapsedS = (performance.now() - started) / 1000;
    return { records: log.records, bytes: log.bytes(), dropped, elapsedS };
  }

  /** What the bucket lets through over `elapsedS`, at most. */
  const allowed = (elapsedS: number) => RATE.burst + Math.ceil(RATE.linesPerSecond * elapsedS);

  it('stderr: logs at the rate, counts the rest, and the log stays small', async function () {
    const { records, bytes, dropped, elapsedS } = await flooding('stderr-flood');
    const logged = records.filter((r) => r.stderr !== undefined).length;
    assert.ok(logged >= RATE.burst, `${logged} stderr lines logged`);
    assert.ok(logged <= allowed(elapsedS), `${logged} stderr lines in ${elapsedS} s`);
    assert.equal(logged + dropped.stderr, FLOOD_LINES, 'every line is logged or counted');
    const summaries = records.filter((r) => /dropped \d+ stderr lines in the last/.test(r.msg));
    assert.ok(summaries.length >= 1);
    // 10 MB of flood; the log got a few hundred lines.
    assert.ok(bytes < 256 * 1024, `${bytes} bytes of log`);
  });

  it('stdout garbage: the warnings about it are rate-limited the same way', async function () {
    const { records, bytes, dropped, elapsedS } = await flooding('stdout-garbage');
    const warnings = records.filter((r) => r.msg === 'non-JSON line on child stdout').length;
    assert.ok(warnings >= RATE.burst, `${warnings} warnings`);
    assert.ok(warnings <= allowed(elapsedS), `${warnings} warnings in ${elapsedS} s`);
    assert.equal(warnings + dropped.stdout, FLOOD_LINES, 'every garbage line is told or counted');
    assert.ok(bytes < 256 * 1024, `${bytes} bytes of log`);
  });
});
