// Code-execution hooks the official schema allows and mcpfleet refuses (issue 12): each is a
// located error with the platform rule that names why, and the compiled launch never has it.
import assert from 'node:assert/strict';
import { checkServerJson, type Problem } from '../../registry/catalog/index.ts';
import { serverJson } from './temp-registry.ts';

function errors(pkg: Record<string, unknown>, settings?: Record<string, unknown>): Problem[] {
  const document = serverJson({
    packages: [{ version: '1.0.0', transport: { type: 'stdio' }, ...pkg }],
    ...(settings ? { _meta: { 'dev.mcpfleet/v1': settings } } : {}),
  });
  return checkServerJson(Buffer.from(JSON.stringify(document)), 'x/server.json', 'x').problems;
}

const npm = { registryType: 'npm', identifier: '@example/demo' };

describe('launch hooks are refused by registry check', () => {
  it('NODE_OPTIONS that imports code, and other variables that load code or redirect downloads', () => {
    for (const name of [
      'NODE_OPTIONS',
      'LD_PRELOAD',
      'PYTHONPATH',
      'npm_config_registry',
      'UV_INDEX_URL',
    ]) {
      const found = errors({
        ...npm,
        environmentVariables: [
          { name: 'LOG_LEVEL', value: 'info' },
          { name, value: '--import=data:text/javascript,1' },
        ],
      });
      assert.deepEqual(
        found.map((p) => [p.path, p.rule]),
        [['packages[0].environmentVariables[1].name', 'no-code-hooks']],
        name,
      );
      assert.match(found[0]?.message ?? '', new RegExp(`${name} is not allowed: `));
    }
  });

  it('npx flags that fetch or run other code, also when an input supplies them', () => {
    for (const flag of ['--registry=https://evil.example', '--node-options', '--call', '-p']) {
      const found = errors({ ...npm, runtimeArguments: [{ type: 'positional', value: flag }] });
      assert.deepEqual(
        found.map((p) => p.rule),
        ['no-code-hooks'],
        flag,
      );
    }
    const viaInput = errors(
      { ...npm, runtimeArguments: [{ type: 'positional', valueHint: 'extra' }] },
      { inputs: { extra: '--registry=https://evil.example' } },
    );
    assert.deepEqual(
      viaInput.map((p) => [p.path, p.rule]),
      [['packages[0].runtimeArguments', 'no-code-hooks']],
    );
  });

  it('uvx and dnx flags that change where packages come from', () => {
    const uvx = errors({
      registryType: 'pypi',
      identifier: 'mcp-server-fetch',
      runtimeArguments: [
        { type: 'named', name: '--index-url', value: 'https://evil.example/simple' },
      ],
    });
    assert.deepEqual(
      uvx.map((p) => p.rule),
      ['no-code-hooks'],
    );
    const dnx = errors({
      registryType: 'nuget',
      identifier: 'Example.Server',
      runtimeArguments: [{ type: 'named', name: '--source', value: 'https://evil.example/v3' }],
    });
    assert.deepEqual(
      dnx.map((p) => p.rule),
      ['no-code-hooks'],
    );
  });

  it("identifiers that are not names by their registry's rules (a path, spaces, capitals for npm)", () => {
    for (const [registryType, identifier] of [
      ['npm', '../../elsewhere'],
      ['npm', 'Has Spaces'],
      ['pypi', '../evil'],
      ['nuget', 'a/b'],
      ['oci', 'ghcr.io/../x:1'],
    ] as const) {
      const found = errors({ registryType, identifier });
      assert.deepEqual(
        found.map((p) => [p.path, p.rule]),
        [['packages[0].identifier', 'package-name']],
        `${registryType} ${identifier}`,
      );
    }
  });

  it('what is ordinary passes: scoped npm names, uvx --python, plain variables', () => {
    assert.deepEqual(
      errors({
        ...npm,
        identifier: '@modelcontextprotocol/server-everything',
        environmentVariables: [{ name: 'DEBUG', value: '1' }],
      }),
      [],
    );
    assert.deepEqual(
      errors({
        registryType: 'pypi',
        identifier: 'mcp-server-fetch',
        runtimeArguments: [{ type: 'named', name: '--python', value: '3.12' }],
      }),
      [],
    );
  });
});
