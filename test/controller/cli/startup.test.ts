// What the `mcpfleet` process loads before it answers. Building the command tree (every
// --help, --version) must not import what only a command's action runs: the controller, the
// Pulumi program, the catalog's schemas. Each run records the URL of every module resolved
// (import and require alike, through module.registerHooks) and reports them as it exits;
// the assertions are about that list, not about time (bench/cli-startup.ts measures that).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { buildProgram } from '../../../controller/cli/main.ts';
import {
  EDITOR_SETTINGS_PATH,
  PUBLISHED_SCHEMA_PATH,
} from '../../../registry/catalog/json-schema.ts';

const ROOT = new URL('../../../', import.meta.url).href;
const BIN = fileURLToPath(new URL('controller/cli/bin.js', ROOT));

/** Preloaded with --import: records each resolved URL, writes them to fd 3 at exit. */
const RECORD_IMPORTS =
  'data:text/javascript,' +
  encodeURIComponent(`
    import { registerHooks } from 'node:module';
    import { writeSync } from 'node:fs';
    const urls = new Set();
    registerHooks({
      resolve(specifier, context, next) {
        const resolved = next(specifier, context);
        urls.add(resolved.url);
        return resolved;
      },
    });
    process.on('exit', () => writeSync(3, [...urls].join('\\n')));
  `);

/** Heavy modules only an action may load, by what their URL contains. */
const ACTION_ONLY: Array<[string, string]> = [
  ['the Pulumi SDK', '/node_modules/@pulumi/'],
  ['the Pulumi program', `${ROOT}infra/`],
  ['the Kubernetes client', '/node_modules/@kubernetes/client-node/'],
  ['express', '/node_modules/express/'],
  ['the MCP SDK', '/node_modules/@modelcontextprotocol/'],
  ['PGlite', '/node_modules/@electric-sql/'],
  ['pg', '/node_modules/pg/'],
  ['ioredis', '/node_modules/ioredis/'],
  ['undici', '/node_modules/undici/'],
  ['pino', '/node_modules/pino/'],
  ['zod', '/node_modules/zod/'],
  ['the controller (start.ts)', `${ROOT}controller/start.ts`],
  ['the registry catalog', `${ROOT}registry/catalog/index.ts`],
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  loaded: string[];
}

function runRecorded(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', RECORD_IMPORTS, BIN, ...args], {
      cwd: fileURLToPath(ROOT),
      env: { ...process.env, MCPFLEET_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const out: Record<'stdout' | 'stderr' | 'loaded', string> = {
      stdout: '',
      stderr: '',
      loaded: '',
    };
    child.stdout!.setEncoding('utf8').on('data', (text: string) => (out.stdout += text));
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (out.stderr += text));
    (child.stdio[3] as NodeJS.ReadableStream)
      .setEncoding('utf8')
      .on('data', (text: string) => (out.loaded += text));
    child.once('error', reject);
    child.once('close', (code) =>
      resolve({ code, stdout: out.stdout, stderr: out.stderr, loaded: out.loaded.split('\n') }),
    );
  });
}

function heavyIn(loaded: string[]): string[] {
  return ACTION_ONLY.flatMap(([what, part]) => {
    const url = loaded.find((u) => u.includes(part));
    return url ? [`${what} (${url})`] : [];
  });
}

/** `mcpfleet`, `mcpfleet registry`, `mcpfleet registry check`, ...: every command's words. */
function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return [prefix, ...command.commands.flatMap((c) => commandPaths(c, [...prefix, c.name()]))];
}

describe('mcpfleet start-up: what a command loads', function () {
  this.timeout(120_000);

  it('--version loads none of what the actions run', async () => {
    const run = await runRecorded(['--version']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^\d+\.\d+\.\d+/);
    assert.ok(
      run.loaded.some((u) => u.endsWith('/controller/cli/main.ts')),
      'recorder works',
    );
    assert.deepEqual(heavyIn(run.loaded), [], 'import these inside the action that uses them');
  });

  it('--help of every command loads none of what the actions run', async () => {
    const paths = commandPaths(buildProgram());
    assert.ok(paths.length > 10, `${paths.length} commands`);
    const failures: string[] = [];
    // A few at a time: each is a Node process.
    for (let i = 0; i < paths.length; i += 4) {
      await Promise.all(
        paths.slice(i, i + 4).map(async (words) => {
          const run = await runRecorded([...words, '--help']);
          const name = ['mcpfleet', ...words].join(' ');
          if (run.code !== 0 || !run.stdout.startsWith('Usage: mcpfleet')) {
            failures.push(`${name} --help: exit ${run.code}: ${run.stderr}`);
          }
          const heavy = heavyIn(run.loaded);
          if (heavy.length) failures.push(`${name} --help loads ${heavy.join(', ')}`);
        }),
      );
    }
    assert.deepEqual(failures, [], 'import these inside the action that uses them');
  });

  it('registry check loads the catalog when it runs, and still not the controller or infra/', async () => {
    const run = await runRecorded(['registry', 'check', 'registry/servers']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^ok: \d+ servers? valid$/m);
    const heavy = heavyIn(run.loaded);
    assert.ok(
      heavy.some((h) => h.startsWith('the registry catalog')),
      heavy.join(', '),
    );
    assert.deepEqual(
      heavy.filter((h) => !/^(the registry catalog|zod) /.test(h)),
      [],
      'registry check needs only the catalog',
    );
  });

  it("registry schema --help names the catalog's files (repeated in the command tree)", async () => {
    const run = await runRecorded(['registry', 'schema', '--help']);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(
      run.stdout.includes(`npx mcpfleet registry schema > ${PUBLISHED_SCHEMA_PATH}\n`),
      run.stdout,
    );
    assert.ok(
      run.stdout.includes(
        `npx mcpfleet registry schema --vscode-settings > ${EDITOR_SETTINGS_PATH}`,
      ),
      run.stdout,
    );
  });
});
