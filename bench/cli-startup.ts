// CLI start-up: how long `mcpfleet --version`, `--help` and `registry check` on the starter
// registry take as whole processes, next to `node -e 0` (Node's own start-up) timed in the
// same run. The commands run interleaved (node, version, help, check, node, ...) so a machine
// whose speed drifts moves all of them alike. Targets: --version and --help <= 300 ms,
// registry check <= 600 ms (medians). CPU time (every thread: a busy machine stretches wall
// time more than CPU time) and peak RSS come from three more runs of each that report their
// own resourceUsage() at exit; the timed runs load nothing but the command.
// Usage: node bench/cli-startup.ts [runs]   (default 7, after one warm-up run of each)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const RUNS = Number(process.argv[2] ?? 7);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = 'controller/cli/bin.js';

interface Case {
  name: string;
  args: string[];
  /** Median wall time to stay under, in ms; none for the yardstick. */
  targetMs?: number;
}

/** The first is the yardstick the others are divided by. */
const CASES: Case[] = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'mcpfleet --version', args: [BIN, '--version'], targetMs: 300 },
  { name: 'mcpfleet --help', args: [BIN, '--help'], targetMs: 300 },
  {
    name: 'mcpfleet registry check registry/servers',
    args: [BIN, 'registry', 'check', 'registry/servers'],
    targetMs: 600,
  },
];

/** One run: wall milliseconds from spawn to exit. Throws when the command fails. */
function timed(c: Case): number {
  const started = performance.now();
  const run = spawnSync(process.execPath, c.args, { cwd: ROOT, stdio: 'ignore' });
  const ms = performance.now() - started;
  if (run.status !== 0) throw new Error(`${c.name} exited ${run.status ?? run.signal}`);
  return ms;
}

/** A preload that writes the process's own CPU time (ms) and peak RSS (KiB) to fd 3 at exit. */
const REPORT =
  'data:text/javascript,' +
  encodeURIComponent(
    "import { writeSync } from 'node:fs';" +
      "process.on('exit', () => { const u = process.resourceUsage();" +
      ' writeSync(3, `${(u.userCPUTime + u.systemCPUTime) / 1000} ${u.maxRSS}`); });',
  );

/** One more run that reports on itself: CPU ms (every thread) and peak RSS in MiB. */
function selfReported(c: Case): { cpuMs: number; rssMiB: number } {
  const run = spawnSync(process.execPath, ['--import', REPORT, ...c.args], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  const [cpuMs = NaN, rssKiB = NaN] = String(run.output[3]).split(' ').map(Number);
  return { cpuMs, rssMiB: rssKiB / 1024 };
}

const round = (n: number, digits = 0) => Number(n.toFixed(digits));
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

for (const c of CASES) timed(c); // warm-up: the file system cache, not counted
const times: number[][] = CASES.map(() => []);
for (let i = 0; i < RUNS; i++) CASES.forEach((c, k) => times[k]!.push(timed(c)));
// Apart from the timed runs, which load nothing extra: CPU and memory, three runs each.
const reports = CASES.map((c) => [1, 2, 3].map(() => selfReported(c)));

const node = times[0]!;
const results = CASES.map((c, k) => {
  const ms = times[k]!;
  const med = median(ms);
  return {
    command: c.name,
    minMs: round(Math.min(...ms)),
    medianMs: round(med),
    maxMs: round(Math.max(...ms)),
    // Run by run against the node -e 0 run of the same round, then the median of those.
    ratioToNode: round(median(ms.map((m, i) => m / node[i]!)), 2),
    cpuMedianMs: round(median(reports[k]!.map((r) => r.cpuMs))),
    peakRssMiB: round(median(reports[k]!.map((r) => r.rssMiB)), 1),
    ...(c.targetMs !== undefined ? { targetMs: c.targetMs, pass: med <= c.targetMs } : {}),
  };
});

console.log(
  JSON.stringify(
    {
      benchmark: 'cli-startup',
      runs: RUNS,
      results,
      pass: results.every((r) => r.pass !== false),
      node: process.version,
    },
    null,
    2,
  ),
);
