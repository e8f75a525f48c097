// The `mcpfleet registry` commands as a user runs them: a real process, exit codes, output.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { serverJsonSchemaText } from '../../registry/catalog/index.ts';
import { serverJson, tempRegistry } from './temp-registry.ts';

const run = promisify(execFile);
const BIN = 'controller/cli/bin.js';

async function mcpfleet(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('mcpfleet registry CLI', () => {
  it('check exits 0 on the starter registry', async () => {
    const { code, stdout } = await mcpfleet('registry', 'check');
    assert.equal(code, 0);
    assert.match(stdout, /^ok: 8 servers valid$/m);
  });

  it('check exits 1 with one located line per problem, a summary, and no stack trace', async () => {
    const registry = await tempRegistry({
      good: serverJson({ name: 'io.example/good', website: 'x' }),
      bad: serverJson({ name: 'io.example/bad', version: 'latest', description: 7 }),
      Bad_Slug: serverJson({ name: 'io.example/slug' }),
    });
    try {
      const { code, stdout, stderr } = await mcpfleet('registry', 'check', registry.dir);
      assert.equal(code, 1);
      const lines = stdout.trim().split('\n');
      assert.match(lines.at(-1) as string, /^2 problems in 3 servers, 1 warning$/);
      const body = lines.slice(0, -1);
      const errors = body.filter((l) => !l.startsWith('warning: '));
      const warnings = body.filter((l) => l.startsWith('warning: '));
      assert.deepEqual(body, [...errors, ...warnings], 'errors first, warnings apart');
      const [warning] = warnings;
      for (const line of errors) {
        assert.match(line, /^\S+server\.json(:\d+:\d+)?: \S+: .+$/, `located line: ${line}`);
      }
      assert.ok(
        errors.some((l) =>
          /bad\/server\.json:\d+:\d+: description: expected string, got a number/.test(l),
        ),
      );
      // What the official schema allows but nobody reads is a warning, printed apart.
      assert.match(
        warning ?? '',
        /^warning: \S*good\/server\.json:\d+:\d+: website: unknown field "website" \(did you mean "websiteUrl"\?\)/,
      );
      assert.ok(lines.some((l) => /Bad_Slug\/server\.json: \$: directory name/.test(l)));
      assert.doesNotMatch(stdout + stderr, /\n\s+at /, 'no stack trace');
    } finally {
      await registry.cleanup();
    }
  });

  it('render takes the registry folder as an argument, as check and compile do', async () => {
    const registry = await tempRegistry({ demo: serverJson({ name: 'io.example/demo' }) });
    try {
      const positional = await mcpfleet('registry', 'render', '--stack', 'dev', registry.dir);
      assert.equal(positional.code, 0, positional.stderr);
      assert.match(positional.stdout, /name: mcp-demo\n/);
      assert.doesNotMatch(positional.stdout, /name: mcp-everything\n/, 'only that registry');
      const flag = await mcpfleet(
        'registry',
        'render',
        '--stack',
        'dev',
        '--registry',
        registry.dir,
      );
      assert.equal(flag.stdout, positional.stdout);
      const both = await mcpfleet(
        'registry',
        'render',
        '--stack',
        'dev',
        registry.dir,
        '--registry',
        'registry/servers',
      );
      assert.equal(both.code, 1);
      assert.match(both.stderr, /give the registry once/);
    } finally {
      await registry.cleanup();
    }
  });

  it('compile --json prints the specs', async () => {
    const { code, stdout } = await mcpfleet('registry', 'compile', '--json');
    assert.equal(code, 0);
    const specs = JSON.parse(stdout) as Array<{ slug: string; apiVersion: string }>;
    assert.equal(specs.length, 8);
    assert.ok(specs.every((s) => s.apiVersion === 'mcpfleet.dev/v1'));
  });

  it('schema prints the published JSON Schema, which is generated, not hand-written', async () => {
    const { code, stdout } = await mcpfleet('registry', 'schema');
    assert.equal(code, 0);
    assert.equal(stdout, serverJsonSchemaText());
    assert.equal(
      await readFile('registry/server.schema.json', 'utf8'),
      stdout,
      'registry/server.schema.json is stale: run `npx mcpfleet registry schema > registry/server.schema.json`',
    );
    const schema = JSON.parse(stdout) as {
      definitions: { ServerDetail: { properties: Record<string, unknown> } };
    };
    for (const field of [
      'name',
      'description',
      'version',
      'packages',
      'remotes',
      'icons',
      'repository',
      '_meta',
    ]) {
      assert.ok(field in schema.definitions.ServerDetail.properties, `schema describes ${field}`);
    }
  });

  it('--help explains every command', async () => {
    for (const args of [
      ['--help'],
      ['registry', '--help'],
      ['registry', 'check', '--help'],
      ['registry', 'compile', '--help'],
      ['registry', 'schema', '--help'],
    ]) {
      const { code, stdout } = await mcpfleet(...args);
      assert.equal(code, 0, args.join(' '));
      assert.match(stdout, /^Usage: mcpfleet/m);
    }
  });

  it('an unknown command is a one-line error, exit 1', async () => {
    const { code, stderr } = await mcpfleet('registry', 'frobnicate');
    assert.equal(code, 1);
    assert.match(stderr, /unknown command 'frobnicate'/);
  });
});
