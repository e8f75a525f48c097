// The GitHub Actions workflows a platform team copies: linted by actionlint (built from the Go
// module proxy, see actionlint.ts), and the mcpfleet commands their `run:` steps hold run here
// exactly as written, in a clone of this repository laid out as the pull request's checkout.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { ACTIONLINT_VERSION, ensureActionlint } from './actionlint.ts';
import { REPO_ROOT } from './temp-git-repo.ts';

const run = promisify(execFile);
const WORKFLOWS = ['registry-pr.yml', 'deploy.yml'].map((name) => `.github/workflows/${name}`);

interface Step {
  name?: string;
  id?: string;
  run?: string;
  uses?: string;
  with?: Record<string, string>;
}
interface Workflow {
  jobs: Record<string, { steps: Step[] }>;
}

async function workflow(file: string): Promise<Workflow> {
  return parse(await readFile(path.join(REPO_ROOT, file), 'utf8')) as Workflow;
}

async function actionlint(cwd: string, files: string[]): Promise<{ code: number; out: string }> {
  const binary = await ensureActionlint();
  try {
    const { stdout, stderr } = await run(binary, ['-no-color', ...files], { cwd });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

/** `${{ github.base_ref }}` and the like, from the values GitHub would give them. */
function expand(text: string, context: Record<string, string>): string {
  return text.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_match, expression: string) => {
    const value = context[expression];
    if (value === undefined) throw new Error(`the test gives no value for \${{ ${expression} }}`);
    return value;
  });
}

/** Runs a `run:` script as GitHub's default shell for it does: bash -e -o pipefail. */
function runStep(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

/**
 * A clone of this repository (so origin/main exists, as after actions/checkout with
 * fetch-depth: 0) with the working tree's current files laid over it and this checkout's
 * node_modules, as `npm ci` would leave them.
 */
async function checkoutLikeCi(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const base = await mkdtemp(path.join(tmpdir(), 'mcpfleet-workflow-'));
  const dir = path.join(base, 'repo');
  await run('git', ['clone', '--quiet', '--origin', 'origin', REPO_ROOT, dir]);
  const { stdout } = await run('git', ['ls-files', '-z', '-co', '--exclude-standard'], {
    cwd: REPO_ROOT,
  });
  for (const file of new Set(stdout.split('\0').filter(Boolean))) {
    const from = path.join(REPO_ROOT, file);
    if (!existsSync(from)) continue;
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await copyFile(from, path.join(dir, file));
  }
  await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return { dir, cleanup: () => rm(base, { recursive: true, force: true }) };
}

describe(`the shipped GitHub workflows (actionlint ${ACTIONLINT_VERSION})`, function () {
  // A cold machine builds actionlint first (about a minute; cached after).
  this.timeout(10 * 60_000);
  before(() => ensureActionlint());

  it('pass actionlint', async () => {
    const { code, out } = await actionlint(REPO_ROOT, WORKFLOWS);
    assert.equal(code, 0, out);
    assert.equal(out, '');
  });

  it('a deliberately broken copy fails actionlint, at the line, for each kind of mistake', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mcpfleet-actionlint-'));
    try {
      await mkdir(path.join(dir, '.github/workflows'), { recursive: true });
      const breakages: [string, string, string, RegExp][] = [
        [
          'deploy.yml',
          'needs: dev\n',
          'needs: deve\n',
          /job "prod" needs job "deve" which does not exist/,
        ],
        [
          'deploy.yml',
          'stack-name: prod',
          'stack-nme: prod',
          /input "stack-nme" is not defined in action "pulumi\/actions@v6"/,
        ],
        [
          'registry-pr.yml',
          'pull-requests: write',
          'pull-request: write',
          /unknown permission scope "pull-request"/,
        ],
        [
          'registry-pr.yml',
          'steps.diff.outcome',
          'steps.dif.outcome',
          /property "dif" is not defined/,
        ],
      ];
      for (const [name, from, to, message] of breakages) {
        const text = await readFile(path.join(REPO_ROOT, '.github/workflows', name), 'utf8');
        assert.ok(text.includes(from), `${name} holds ${from}`);
        const file = `.github/workflows/broken-${name}`;
        await writeFile(path.join(dir, file), text.replace(from, to));
        const { code, out } = await actionlint(dir, [file]);
        assert.equal(code, 1, `${to}: ${out}`);
        assert.match(out, message);
        assert.match(out, new RegExp(`^${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: `, 'm'));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe("registry-pr.yml's mcpfleet commands, run as written", () => {
    let checkout: { dir: string; cleanup: () => Promise<void> };
    let steps: Step[];
    let runnerTemp: string;
    before(async () => {
      checkout = await checkoutLikeCi();
      steps = (await workflow('.github/workflows/registry-pr.yml')).jobs.review!.steps;
    });
    after(() => checkout.cleanup());
    beforeEach(async () => {
      runnerTemp = await mkdtemp(path.join(tmpdir(), 'mcpfleet-runner-temp-'));
    });
    afterEach(() => rm(runnerTemp, { recursive: true, force: true }));

    /** GitHub's values for a pull request into main; Node 22 on PATH as setup-node puts it. */
    function context() {
      return {
        expressions: { 'github.base_ref': 'main', 'runner.temp': runnerTemp },
        env: {
          ...process.env,
          PATH: `${path.join(REPO_ROOT, 'node_modules/.bin')}${path.delimiter}${process.env.PATH}`,
          CI: 'true',
          GITHUB_ACTIONS: 'true',
          GITHUB_BASE_REF: 'main',
          RUNNER_TEMP: runnerTemp,
          GITHUB_STEP_SUMMARY: path.join(runnerTemp, 'step-summary.md'),
        },
      };
    }

    function step(name: string): Step & { run: string } {
      const found = steps.find((s) => s.name === name);
      assert.ok(found?.run?.includes('npx mcpfleet '), `a "${name}" step running mcpfleet`);
      return found as Step & { run: string };
    }

    async function runNamed(name: string) {
      const { expressions, env } = context();
      return runStep(expand(step(name).run, expressions), checkout.dir, env);
    }

    it('every mcpfleet step is one of those run here', () => {
      const mcpfleetSteps = steps.filter((s) => s.run?.includes('mcpfleet')).map((s) => s.name);
      assert.deepEqual(mcpfleetSteps, ['Check every server.json', 'Diff against the base']);
    });

    it('the check passes on this registry', async () => {
      const { code, output } = await runNamed('Check every server.json');
      assert.equal(code, 0, output);
      assert.doesNotMatch(output, /::error/);
    });

    it('the diff writes the comment where the comment step reads it, and the run summary', async () => {
      const { code, output } = await runNamed('Diff against the base');
      assert.equal(code, 0, output);
      const comment = steps.find((s) =>
        s.uses?.startsWith('marocchino/sticky-pull-request-comment@'),
      );
      const file = expand(comment!.with!.path!, context().expressions);
      const markdown = await readFile(file, 'utf8');
      assert.match(markdown, /^### Registry diff: /);
      assert.match(
        markdown,
        /Compared with <code>origin\/main<\/code> \(merge base <code>[0-9a-f]{12}<\/code>\)/,
      );
      assert.equal(await readFile(path.join(runnerTemp, 'step-summary.md'), 'utf8'), markdown);
    });

    it('on a broken server.json the check fails with annotations and the diff still comments', async () => {
      const file = path.join(checkout.dir, 'registry/servers/memory/server.json');
      const original = await readFile(file, 'utf8');
      try {
        await writeFile(file, original.replace(/"version": "([^"]+)"/, '"version": 7'));
        const check = await runNamed('Check every server.json');
        assert.equal(check.code, 1, check.output);
        assert.match(
          check.output,
          /^::error file=registry\/servers\/memory\/server\.json,line=\d+,col=\d+[^:]*::.+$/m,
        );
        const diff = await runNamed('Diff against the base');
        assert.equal(diff.code, 0, diff.output);
        const markdown = await readFile(path.join(runnerTemp, 'registry-diff.md'), 'utf8');
        assert.match(markdown, /\*\*This change does not compile\*\*/);
        assert.match(markdown, /\| <code>memory<\/code> .*\| changed \|.*\| not compared \|/);
      } finally {
        await writeFile(file, original);
      }
    });
  });
});
