// Runs the @modelcontextprotocol/conformance server suite against one MCP URL and reads
// its per-scenario results (checks.json in one directory per scenario).
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const CONFORMANCE = path.join(
  path.dirname(require.resolve('@modelcontextprotocol/conformance/package.json')),
  'dist/index.js',
);

export interface CheckResult {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | string;
  errorMessage?: string;
}

export interface ScenarioResult {
  scenario: string;
  passed: boolean;
  checks: CheckResult[];
}

export interface SuiteRun {
  url: string;
  scenarios: Map<string, ScenarioResult>;
  /** Totals over checks, as the suite's own summary counts them. */
  checksPassed: number;
  checksFailed: number;
}

export async function runConformance(
  url: string,
  options: {
    scenario?: string;
    /** With `scenario`: the revision whose wire it runs at. */
    specVersion?: string;
    /** Run exactly the scenarios a spec revision requires, at its wire (e.g. 2026-07-28). */
    requirements?: string;
    timeoutMs?: number;
  } = {},
): Promise<SuiteRun> {
  const outDir = await mkdtemp(path.join(tmpdir(), 'mcpfleet-conformance-'));
  try {
    const args = [CONFORMANCE, 'server', '--url', url, '-o', outDir];
    if (options.scenario) args.push('--scenario', options.scenario);
    if (options.specVersion) args.push('--spec-version', options.specVersion);
    if (options.requirements) args.push('--requirements', options.requirements);
    // The suite exits non-zero when any scenario fails; the results are what matter.
    await new Promise<void>((resolve, reject) => {
      execFile(process.execPath, args, { timeout: options.timeoutMs ?? 120_000 }, (err) => {
        if (err && (err as { killed?: boolean }).killed) reject(new Error('conformance timed out'));
        else resolve();
      });
    });
    const scenarios = new Map<string, ScenarioResult>();
    let checksPassed = 0;
    let checksFailed = 0;
    for (const dir of await readdir(outDir)) {
      const match = /^server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/.exec(dir);
      if (!match) continue;
      const checks = JSON.parse(
        await readFile(path.join(outDir, dir, 'checks.json'), 'utf8'),
      ) as CheckResult[];
      const failed = checks.filter((c) => c.status === 'FAILURE').length;
      checksFailed += failed;
      checksPassed += checks.filter((c) => c.status === 'SUCCESS').length;
      scenarios.set(match[1]!, { scenario: match[1]!, passed: failed === 0, checks });
    }
    if (scenarios.size === 0) throw new Error(`conformance produced no results for ${url}`);
    return { url, scenarios, checksPassed, checksFailed };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

/** Scenario names that passed. */
export function passedScenarios(run: SuiteRun): string[] {
  return [...run.scenarios.values()]
    .filter((s) => s.passed)
    .map((s) => s.scenario)
    .sort();
}

/** Where a suite ran: its URL and the revision it spoke. */
export interface RunSite {
  run: SuiteRun;
  /** undefined: the suite's own default, as the first run had. */
  specVersion: string | undefined;
}

/**
 * Scenarios `baseline` passed and `candidate` did not, among `scenarios`, each confirmed by
 * running it once more on both: some backends answer a scenario differently from run to run
 * (server-everything's reply to a tool it lacks is JSON one time, SSE the next), so a single
 * run would blame the gateway for the backend's coin toss. Lost means lost twice, while the
 * baseline passed both times.
 */
export async function confirmedLost(
  baseline: RunSite,
  candidate: RunSite,
  scenarios: readonly string[],
): Promise<string[]> {
  const lost: string[] = [];
  for (const scenario of scenarios) {
    if (!baseline.run.scenarios.get(scenario)?.passed) continue;
    if (candidate.run.scenarios.get(scenario)?.passed) continue;
    const again = async (site: RunSite) =>
      (
        await runConformance(site.run.url, { scenario, specVersion: site.specVersion })
      ).scenarios.get(scenario)?.passed;
    if ((await again(baseline)) && !(await again(candidate))) lost.push(scenario);
  }
  return lost;
}

/**
 * Checks that passed in `baseline` and not in `candidate` (`scenario/check`), over the
 * scenarios both passed or `candidate` failed for sure; `skip`: scenarios to leave out.
 */
export function lostChecks(
  baseline: SuiteRun,
  candidate: SuiteRun,
  skip: (scenario: string) => boolean = () => false,
): string[] {
  const lost: string[] = [];
  for (const [scenario, result] of baseline.scenarios) {
    if (skip(scenario)) continue;
    for (const check of result.checks) {
      if (check.status !== 'SUCCESS') continue;
      const through = candidate.scenarios.get(scenario)?.checks.find((c) => c.id === check.id);
      if (through?.status !== 'SUCCESS') lost.push(`${scenario}/${check.id}`);
    }
  }
  return lost;
}
