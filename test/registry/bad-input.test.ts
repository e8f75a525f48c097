// Every class of bad input gets a located problem (file, JSON path, fix) and no crash.
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadRegistry, type Problem } from '../../registry/catalog/index.ts';
import { serverJson, tempRegistry, withSettings, type TempRegistry } from './temp-registry.ts';

async function problemsFor(content: Record<string, unknown> | string | Uint8Array, slug = 'demo') {
  const registry = await tempRegistry({ [slug]: content });
  try {
    const result = await loadRegistry(registry.dir);
    assert.equal(result.specs.length, 0, 'a broken server.json yields no spec');
    assert.ok(result.problems.length > 0, 'and at least one problem');
    for (const p of result.problems) {
      assert.ok(
        p.file.endsWith(path.join(slug, 'server.json')),
        `problem names the file: ${p.file}`,
      );
    }
    return result.problems;
  } finally {
    await registry.cleanup();
  }
}

function expectProblem(problems: Problem[], jsonPath: string, message: RegExp) {
  const found = problems.find((p) => p.path === jsonPath && message.test(p.message));
  assert.ok(
    found,
    `expected ${jsonPath}: ${message} in:\n${problems.map((p) => `${p.path}: ${p.message}`).join('\n')}`,
  );
}

describe('bad input', () => {
  it('invalid JSON: says where', async () => {
    const problems = await problemsFor('{\n  "name": "a/b",\n  "version": 1.0.0\n}');
    expectProblem(problems, '$', /invalid JSON at line 3, column \d+/);
  });

  it('a byte order mark', async () => {
    const text = JSON.stringify(serverJson());
    const problems = await problemsFor(new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from(text)]));
    expectProblem(problems, '$', /byte order mark.*without BOM/);
  });

  it('trailing garbage after the document', async () => {
    const problems = await problemsFor(`${JSON.stringify(serverJson())}\n}garbage`);
    expectProblem(problems, '$', /unexpected text after the end of the JSON document at line 2/);
  });

  it('wrong types', async () => {
    const problems = await problemsFor(serverJson({ description: 42, packages: {} }));
    expectProblem(problems, 'description', /expected string, got a number/);
    expectProblem(problems, 'packages', /expected array, got an object/);
  });

  it('a missing required field', async () => {
    const { version: _version, ...rest } = serverJson();
    expectProblem(await problemsFor(rest), 'version', /required field is missing/);
  });

  it('a name that breaks the pattern', async () => {
    const problems = await problemsFor(serverJson({ name: 'no slash here' }));
    expectProblem(problems, 'name', /reverse-DNS "namespace\/name" with exactly one slash/);
  });

  it('a description over 100 characters', async () => {
    expectProblem(
      await problemsFor(serverJson({ description: 'x'.repeat(101) })),
      'description',
      /at most 100/,
    );
  });

  it('a misspelt field, with a suggestion', async () => {
    const { packages, ...rest } = serverJson();
    const registry = await tempRegistry({ demo: { ...rest, pakages: packages } });
    try {
      // The official schema allows unknown fields, so the typo itself is a warning; what it
      // leaves out (nothing to deploy) is the error.
      const { problems, warnings } = await loadRegistry(registry.dir);
      expectProblem(warnings, 'pakages', /unknown field "pakages" \(did you mean "packages"\?\)/);
      expectProblem(problems, '$', /nothing to deploy/);
    } finally {
      await registry.cleanup();
    }
  });

  it('a slug directory that breaks DNS-1123', async () => {
    const problems = await problemsFor(serverJson(), 'Not_A_Slug');
    expectProblem(problems, '$', /directory name "Not_A_Slug" is not a valid slug/);
  });

  it('two directories with the same server name', async () => {
    const registry = await tempRegistry({ alpha: serverJson(), beta: serverJson() });
    try {
      const result = await loadRegistry(registry.dir);
      assert.equal(result.specs.length, 1);
      const [problem] = result.problems;
      assert.ok(problem);
      assert.ok(problem.file.endsWith(path.join('beta', 'server.json')));
      assert.equal(problem.path, 'name');
      assert.match(
        problem.message,
        /already registered by .*alpha.*server\.json; each server needs a unique name/,
      );
    } finally {
      await registry.cleanup();
    }
  });

  it('a 50 MB file is refused from its size, without parsing it', async () => {
    const huge = Buffer.alloc(50 * 1024 * 1024, 0x20);
    huge.write('{"name":"a/b"}');
    const before = process.memoryUsage().rss;
    const problems = await problemsFor(huge);
    expectProblem(problems, '$', /file is 50\.0 MiB; a server\.json must be under 1 MiB/);
    assert.ok(
      process.memoryUsage().rss - before < 40 * 1024 * 1024,
      'the file was not loaded whole',
    );
  });

  it('a deeply nested document', async () => {
    const deep = `{"name":"a/b","_meta":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    expectProblem(await problemsFor(deep), '$', /nested deeper than 32 levels at line 1/);
  });

  it('a prototype-pollution key', async () => {
    const text = JSON.stringify(serverJson()).replace(
      '"name"',
      '"__proto__":{"polluted":true},"name"',
    );
    expectProblem(
      await problemsFor(text),
      '__proto__',
      /not allowed \(it can alter object prototypes\)/,
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('"latest" and version ranges', async () => {
    const pkg = (version: string) =>
      serverJson({ packages: [{ ...(serverJson().packages as object[])[0], version }] });
    expectProblem(
      await problemsFor(pkg('latest')),
      'packages[0].version',
      /"latest" is not a version/,
    );
    expectProblem(
      await problemsFor(pkg('^1.2')),
      'packages[0].version',
      /version ranges are not allowed/,
    );
    // The server's own version is a label, not something deployed: the official schema
    // allows any string there, and so does mcpfleet.
    const registry = await tempRegistry({ demo: serverJson({ version: '1.x' }) });
    try {
      const result = await loadRegistry(registry.dir);
      assert.deepEqual([result.problems, result.specs.length], [[], 1]);
    } finally {
      await registry.cleanup();
    }
  });

  it('an mcpb package without sha256', async () => {
    const problems = await problemsFor(
      serverJson({
        packages: [
          {
            registryType: 'mcpb',
            identifier: 'https://example.com/a.mcpb',
            transport: { type: 'stdio' },
          },
        ],
      }),
    );
    expectProblem(problems, 'packages[0].fileSha256', /needs "fileSha256"/);
  });

  it('an inline secret', async () => {
    const problems = await problemsFor(
      serverJson({
        packages: [
          {
            ...(serverJson().packages as object[])[0],
            environmentVariables: [{ name: 'API_KEY', isSecret: true, value: 'sk-live-123' }],
          },
        ],
      }),
    );
    expectProblem(
      problems,
      'packages[0].environmentVariables[0].value',
      /secret value is written inline.*secrets\.API_KEY/,
    );
  });

  it('a secret given as a plain input', async () => {
    const doc = serverJson({
      packages: [
        {
          ...(serverJson().packages as object[])[0],
          environmentVariables: [{ name: 'API_KEY', isSecret: true }],
        },
      ],
    });
    const problems = await problemsFor(withSettings({ inputs: { API_KEY: 'sk-live-123' } }, doc));
    expectProblem(
      problems,
      '_meta["dev.mcpfleet/v1"].inputs.API_KEY',
      /is a secret: never put its value in "inputs"/,
    );
  });

  it('a required secret with no binding', async () => {
    const doc = serverJson({
      packages: [
        {
          ...(serverJson().packages as object[])[0],
          environmentVariables: [{ name: 'API_KEY', isSecret: true, isRequired: true }],
        },
      ],
    });
    const problems = await problemsFor(doc);
    expectProblem(
      problems,
      'packages[0].environmentVariables[0]',
      /required but not bound.*secrets\.API_KEY/,
    );
  });

  it('an unknown registryType', async () => {
    const problems = await problemsFor(
      serverJson({
        packages: [{ ...(serverJson().packages as object[])[0], registryType: 'apt' }],
      }),
    );
    expectProblem(
      problems,
      'packages[0].registryType',
      /cannot run registryType "apt" \(it runs npm, pypi, oci, nuget, mcpb\)/,
    );
  });

  it('settings out of range', async () => {
    const meta = '_meta["dev.mcpfleet/v1"]';
    expectProblem(
      await problemsFor(withSettings({ scaling: { minReplicas: -1 } })),
      `${meta}.scaling.minReplicas`,
      /expected number to be >=0|Too small/i,
    );
    expectProblem(
      await problemsFor(withSettings({ scaling: { minReplicas: 4, maxReplicas: 2 } })),
      `${meta}.scaling.minReplicas`,
      /minReplicas must not exceed maxReplicas/,
    );
    expectProblem(
      await problemsFor(withSettings({ scaling: { idleTimeout: 'five minutes' } })),
      `${meta}.scaling.idleTimeout`,
      /must be a duration like "500ms", "30s", "5m" or "1h"/,
    );
    expectProblem(
      await problemsFor(withSettings({ scaling: { idleTimeout: '48h' } })),
      `${meta}.scaling.idleTimeout`,
      /between 1s and 24h/,
    );
  });

  it('an access block the gateway could not enforce as meant', async () => {
    const at = '_meta["dev.mcpfleet/v1"].access';
    const problems = await problemsFor(
      withSettings({
        access: {
          groups: [],
          scopes: ['repo write'],
          keys: ['ci bot', 'ci-bot', 'ci-bot'],
          tools: { alow: ['get_*'], deny: ['rm -rf'] },
          who: 'everyone',
        },
      }),
    );
    expectProblem(
      problems,
      `${at}.groups`,
      /an empty list names no group: list at least one, or leave "groups" out/,
    );
    expectProblem(
      problems,
      `${at}.scopes[0]`,
      /"repo write" is not an OAuth scope: write one like "mcp"/,
    );
    expectProblem(
      problems,
      `${at}.keys[0]`,
      /"ci bot" is not an API key name: write the --name given to "mcpfleet keys create"/,
    );
    expectProblem(problems, `${at}.keys[2]`, /"ci-bot" is listed twice: remove one/);
    expectProblem(problems, `${at}.tools.alow`, /unknown field "alow" \(did you mean "allow"\?\)/);
    expectProblem(
      problems,
      `${at}.tools.deny[0]`,
      /"rm -rf" is not a tool name or pattern: write a name like "search" or a pattern like "get_\*"/,
    );
    expectProblem(problems, `${at}.who`, /unknown field "who".*known: groups, scopes, keys, tools/);
    expectProblem(
      await problemsFor(
        withSettings({ access: { tools: { allow: ['read_*'], deny: ['read_*'] } } }),
      ),
      `${at}.tools.allow[0]`,
      /"read_\*" is both allowed and denied \(deny wins\): remove it from one/,
    );
    expectProblem(
      await problemsFor(withSettings({ access: { groups: ['ops\tteam'] } })),
      `${at}.groups[0]`,
      /cannot hold control characters/,
    );
  });

  it('an input that matches nothing (a typo) is reported, not ignored', async () => {
    const problems = await problemsFor(withSettings({ inputs: { direktory: '/data' } }));
    expectProblem(problems, '_meta["dev.mcpfleet/v1"].inputs.direktory', /matches no argument/);
  });

  it('an OCI image pinned to "latest" or not pinned at all', async () => {
    const oci = (identifier: string) =>
      serverJson({ packages: [{ registryType: 'oci', identifier, transport: { type: 'stdio' } }] });
    expectProblem(
      await problemsFor(oci('ghcr.io/a/b:latest')),
      'packages[0].identifier',
      /"latest" is not a version/,
    );
    expectProblem(await problemsFor(oci('ghcr.io/a/b')), 'packages[0].version', /pin the image/);
  });

  it('a symlink pointing outside the registry', async () => {
    const outside = await mkdtemp(path.join(tmpdir(), 'mcpfleet-outside-'));
    let registry: TempRegistry | undefined;
    try {
      await writeFile(path.join(outside, 'server.json'), JSON.stringify(serverJson()));
      registry = await tempRegistry({});
      await mkdir(path.join(registry.dir, 'linked-file'));
      await symlink(path.join(outside, 'server.json'), registry.file('linked-file'));
      await symlink(outside, path.join(registry.dir, 'linked-dir'));
      const result = await loadRegistry(registry.dir);
      assert.equal(result.specs.length, 0);
      for (const slug of ['linked-dir', 'linked-file']) {
        const p = result.problems.find((x) => x.file.endsWith(path.join(slug, 'server.json')));
        assert.ok(p, `problem for ${slug}`);
        assert.match(p.message, /symlink points outside the registry/);
      }
    } finally {
      await registry?.cleanup();
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('a server directory without server.json', async () => {
    const registry = await tempRegistry({});
    try {
      await mkdir(path.join(registry.dir, 'empty'));
      const result = await loadRegistry(registry.dir);
      assert.match(result.problems[0]?.message ?? '', /missing server\.json/);
    } finally {
      await registry.cleanup();
    }
  });

  it('a registry directory that does not exist', async () => {
    const result = await loadRegistry('/nonexistent/registry');
    assert.match(result.problems[0]?.message ?? '', /registry directory does not exist/);
  });
});
