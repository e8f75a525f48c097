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
    /** Run exactly the scenarios a spec revision requires, at its wire (e.g. 2026-07-28). */
    requirements?: string;
    timeoutMs?: number;
  } = {},
): Promise<SuiteRun> {
  const outDir = await mkdtemp(path.join(tmpdir(), 'mcpfleet-conformance-'));
  try {
    const args = [CONFORMANCE, 'server', '--url', url, '-o', outDir];
    if (options.scenario) args.push('--scenario', options.scenario);
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
