// The kinds of refusal seen on real, officially valid server.json files (issue 9): each is
// now accepted — with a warning where mcpfleet ignores something — and `--strict` refuses
// the warnings for teams that want it. Plus the locations and GitHub annotations reviewers see.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { checkServerJson, type Problem } from '../../registry/catalog/index.ts';
import { PLATFORM_RULES, WARNING_RULES } from '../../registry/catalog/platform-rules.ts';
import { serverJson, tempRegistry } from './temp-registry.ts';

const run = promisify(execFile);
const BIN = 'controller/cli/bin.js';

function check(document: Record<string, unknown>) {
  return checkServerJson(Buffer.from(JSON.stringify(document, null, 2)), 'x/server.json', 'x');
}

const npm = (extra: Record<string, unknown> = {}) => ({
  registryType: 'npm',
  identifier: '@example/demo',
  version: '1.0.0',
  transport: { type: 'stdio' },
  ...extra,
});

function paths(problems: Problem[]): string[] {
  return problems.map((p) => p.path);
}

describe('officially valid server.json files are accepted', () => {
  for (const revision of ['2025-09-29', '2025-10-17', '2025-12-11']) {
    it(`a $schema of the official revision ${revision}`, () => {
      const result = check(
        serverJson({
          $schema: `https://static.modelcontextprotocol.io/schemas/${revision}/server.schema.json`,
        }),
      );
      assert.deepEqual([result.problems, result.warnings], [[], []]);
      assert.ok(result.spec);
    });
  }

  it('the first revision (2025-07-09), whose fields are snake_case, deploys the same', () => {
    const result = check({
      $schema: 'https://static.modelcontextprotocol.io/schemas/2025-07-09/server.schema.json',
      name: 'io.github.example/demo',
      description: 'A demo server',
      version: '1.0.0',
      website_url: 'https://example.com',
      packages: [
        {
          registry_type: 'npm',
          identifier: '@example/demo',
          version: '1.0.0',
          transport: { type: 'stdio' },
          package_arguments: [{ type: 'positional', value_hint: 'dir', default: '/data' }],
        },
      ],
    });
    assert.deepEqual([result.problems, result.warnings], [[], []]);
    assert.equal(result.spec?.kind, 'workload');
    assert.deepEqual(result.spec?.kind === 'workload' && result.spec.args, ['/data']);
  });

  it('fields no official revision names, at the top level and deep: warnings, not errors', () => {
    const result = check(
      serverJson({
        license: 'MIT',
        status: 'active',
        tools: [{ name: 'search' }],
        displayName: 'Demo',
        packages: [
          npm({
            runtime: 'node',
            packageArguments: [
              { type: 'named', name: '--port', valueHint: 'port', default: '8080' },
              { type: 'positional', name: 'dir', valueHint: 'dir', default: '/data' },
            ],
            environmentVariables: [{ name: 'LOG_LEVEL', required: false, default: 'info' }],
          }),
        ],
        remotes: [
          {
            type: 'streamable-http',
            url: 'https://example.com/mcp',
            headers: [{ name: 'X-Region', valueHint: 'region', value: 'eu' }],
          },
        ],
      }),
    );
    assert.deepEqual(result.problems, []);
    assert.deepEqual(paths(result.warnings).sort(), [
      'displayName',
      'license',
      'packages[0].environmentVariables[0].required',
      'packages[0].packageArguments[0].valueHint',
      'packages[0].packageArguments[1].name',
      'packages[0].runtime',
      'remotes[0].headers[0].valueHint',
      'status',
      'tools',
    ]);
    assert.ok(result.warnings.every((w) => w.rule === 'unknown-field' && w.line !== undefined));
  });

  it('a misspelt field is still caught, with a hint', () => {
    const { packages, ...rest } = serverJson();
    const result = check({ ...rest, pakages: packages });
    assert.match(result.warnings[0]?.message ?? '', /did you mean "packages"/);
    assert.match(result.problems[0]?.message ?? '', /nothing to deploy/);
  });

  it('a package mcpfleet cannot run is fine when another one is deployed', () => {
    const result = check(
      serverJson({ packages: [npm(), { ...npm(), registryType: 'cargo', identifier: 'demo' }] }),
    );
    assert.deepEqual(result.problems, []);
    const chosen = check(
      serverJson({
        packages: [npm(), { ...npm(), registryType: 'cargo', identifier: 'demo' }],
        _meta: { 'dev.mcpfleet/v1': { package: 1 } },
      }),
    );
    assert.deepEqual(
      chosen.problems.map((p) => [p.path, p.rule]),
      [['packages[1].registryType', 'runnable-package']],
    );
  });

  it('an unknown $schema is a warning, judged by the latest revision', () => {
    const result = check(serverJson({ $schema: 'https://example.com/server.schema.json' }));
    assert.deepEqual(result.problems, []);
    assert.deepEqual(
      result.warnings.map((w) => [w.path, w.rule]),
      [['$schema', 'unknown-revision']],
    );
  });

  it('what the official schema refuses is refused, once, at its line', () => {
    const document = serverJson({ repository: { url: 'not a uri at all', source: 'github' } });
    const result = check(document);
    const text = JSON.stringify(document, null, 2).split('\n');
    const line = text.findIndex((l) => l.includes('"not a uri at all"')) + 1;
    assert.deepEqual(
      result.problems.map((p) => [p.path, p.rule, p.line]),
      [['repository.url', 'official-schema', line]],
    );
    assert.match(result.problems[0]?.message ?? '', /is not a valid uri/);
  });
});

describe('registry check for reviewers', () => {
  it('--strict makes warnings errors; --format github prints annotations at line and column', async () => {
    const registry = await tempRegistry({ demo: serverJson({ license: 'MIT' }) });
    try {
      const lenient = await run('node', [BIN, 'registry', 'check', registry.dir]);
      assert.match(lenient.stdout, /^warning: .*demo\/server\.json:\d+:3: license: unknown field/m);
      assert.match(lenient.stdout, /^ok: 1 server valid, 1 warning$/m);

      const strict = await run('node', [
        BIN,
        'registry',
        'check',
        '--strict',
        '--format',
        'github',
        registry.dir,
      ]).then(
        () => assert.fail('--strict exits 1 on a warning'),
        (error: { code: number; stdout: string }) => error,
      );
      assert.equal(strict.code, 1);
      const [annotation] = strict.stdout.split('\n');
      assert.match(
        annotation ?? '',
        /^::error file=[^,]*demo\/server\.json,line=\d+,col=3,title=mcpfleet registry check%3A license::unknown field "license"/,
      );
    } finally {
      await registry.cleanup();
    }
  });

  it('--format json gives errors and warnings with their rules', async () => {
    const registry = await tempRegistry({ demo: serverJson({ license: 'MIT' }) });
    try {
      const { stdout } = await run('node', [
        BIN,
        'registry',
        'check',
        '--format',
        'json',
        registry.dir,
      ]);
      const report = JSON.parse(stdout) as { ok: boolean; errors: Problem[]; warnings: Problem[] };
      assert.equal(report.ok, true);
      assert.deepEqual(
        report.warnings.map((w) => [w.path, w.rule]),
        [['license', 'unknown-field']],
      );
    } finally {
      await registry.cleanup();
    }
  });
});

describe('the rules are documented', () => {
  it('docs/registry-rules.md explains every platform rule and warning the checker can give', () => {
    const doc = readFileSync('docs/registry-rules.md', 'utf8');
    for (const rule of [...Object.keys(PLATFORM_RULES), ...Object.keys(WARNING_RULES)]) {
      assert.match(doc, new RegExp(`^\\| \`${rule}\` \\|`, 'm'), `${rule} has a row`);
    }
  });
});
