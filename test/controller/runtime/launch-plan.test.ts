import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  installedPackageBin,
  resolveLaunch,
  PROJECT_ROOT,
} from '../../../controller/runtime/launch-plan.ts';
import { everythingStdio, stdioFixture } from '../fleet/specs.ts';

describe('local launch plan', () => {
  it('runs an npm package installed at the spec version with this node, no npx', () => {
    const resolved = resolveLaunch(everythingStdio(), { PATH: '' });
    assert.ok(resolved.ok);
    assert.equal(resolved.launch.command, process.execPath);
    assert.equal(resolved.launch.via, 'installed-package');
    assert.match(resolved.launch.args[0]!, /server-everything\/dist\/index\.js$/);
    assert.deepEqual(resolved.launch.args.slice(1), ['stdio']);
  });

  it('falls back to the plan command when the installed version differs, if it is on PATH', () => {
    const spec = everythingStdio();
    if (!spec.local.runnable) throw new Error('unreachable');
    spec.local.npmPackage = { name: '@modelcontextprotocol/server-everything', version: '0.0.1' };
    const missing = resolveLaunch(spec, { PATH: '' });
    assert.equal(missing.ok, false);
    assert.match((missing as { reason: string }).reason, /needs npx on PATH/);
    const dir = mkdtempSync(join(tmpdir(), 'mcpfleet-path-'));
    writeFileSync(join(dir, 'npx'), '#!/bin/sh\n', { mode: 0o755 });
    const found = resolveLaunch(spec, { PATH: dir });
    assert.ok(found.ok);
    assert.equal(found.launch.command, 'npx');
    assert.deepEqual(found.launch.args, [
      '--yes',
      '@modelcontextprotocol/server-everything@2026.8.31',
      'stdio',
    ]);
  });

  it("expands $(VAR) references from the server's own variables, secrets from the environment", () => {
    const spec = stdioFixture('secrets', 'normal', {
      env: {
        API_HOST: 'api.example',
        API_URL: 'https://$(API_HOST)/v1',
        AUTH: 'Bearer $(API_TOKEN)',
      },
    });
    spec.secretEnv = [{ env: 'API_TOKEN', secretName: 'api', key: 'token' }];
    spec.args = ['--host', '$(API_HOST)'];
    if (!spec.local.runnable) throw new Error('unreachable');
    spec.local.args = [...spec.local.args, '--host', '$(API_HOST)'];
    const missing = resolveLaunch(spec, { PATH: '' });
    assert.equal(missing.ok, false);
    assert.match((missing as { reason: string }).reason, /API_TOKEN/);
    const ok = resolveLaunch(spec, {
      PATH: '',
      API_TOKEN: 's3cret',
      API_HOST: 'controller.example',
    });
    assert.ok(ok.ok);
    assert.equal(ok.launch.env.API_URL, 'https://api.example/v1', "the spec's value, not ours");
    assert.equal(ok.launch.env.API_TOKEN, 's3cret');
    assert.equal(ok.launch.env.AUTH, 'Bearer s3cret');
    assert.deepEqual(ok.launch.args.slice(-2), ['--host', 'api.example']);
  });

  it('reports a non-runnable plan with its reason', () => {
    const spec = {
      ...stdioFixture('img', 'normal'),
      local: { runnable: false as const, reason: 'needs a container runtime' },
    };
    assert.deepEqual(resolveLaunch(spec), { ok: false, reason: 'needs a container runtime' });
  });

  it('finds the bin of an installed package (string or map), only at the exact version', () => {
    assert.match(
      installedPackageBin('@modelcontextprotocol/server-memory', '2026.8.31', PROJECT_ROOT)!,
      /server-memory/,
    );
    assert.equal(
      installedPackageBin('@modelcontextprotocol/server-memory', '1.0.0', PROJECT_ROOT),
      undefined,
    );
    assert.equal(installedPackageBin('no-such-package-here', '1.0.0', PROJECT_ROOT), undefined);
    const root = mkdtempSync(join(tmpdir(), 'mcpfleet-root-'));
    mkdirSync(join(root, 'node_modules', 'plain'), { recursive: true });
    writeFileSync(
      join(root, 'node_modules', 'plain', 'package.json'),
      JSON.stringify({ version: '2.0.0', bin: 'cli.js' }),
    );
    assert.equal(
      installedPackageBin('plain', '2.0.0', root),
      join(root, 'node_modules', 'plain', 'cli.js'),
    );
  });
});
