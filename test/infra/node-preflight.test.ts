// Issue 8, point 7: Pulumi runs the program with the first `node` on PATH. On a machine whose
// Node is older than 22.19, importing the TypeScript program fails with a message that says
// nothing useful; the entry point (infra/main.js, plain JavaScript) says which Node ran it and
// how to put the project's Node 22 first, and otherwise hands over to infra/index.ts.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { MINIMUM_NODE, nodeProblem } from '../../infra/main.js';

const ENTRY = new URL('../../infra/main.js', import.meta.url).pathname;

/** A Node older than the program needs, if this machine has one (the system Node often is). */
function olderNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(candidate)) continue;
    const version = execFileSync(candidate, ['-p', 'process.versions.node'], {
      encoding: 'utf8',
    }).trim();
    if (nodeProblem(version, candidate)) return candidate;
  }
  return undefined;
}

describe('issue 8.7: the Node that Pulumi starts', function () {
  this.timeout(30_000);

  it('Pulumi.yaml starts infra/main.js, not the TypeScript program', () => {
    const project = parse(readFileSync('Pulumi.yaml', 'utf8')) as { main: string };
    assert.equal(project.main, 'infra/main.js');
  });

  it('names the Node that ran it and the fix, below 22.19; nothing from 22.19 on', () => {
    assert.deepEqual(MINIMUM_NODE, [22, 19]);
    const problem = nodeProblem('20.19.2', '/usr/bin/node');
    assert.match(
      problem!,
      /needs Node >= 22\.19, but Pulumi started it with Node 20\.19\.2 \(\/usr\/bin\/node\)/,
    );
    assert.match(problem!, /export PATH="\$PWD\/node_modules\/\.bin:\$PATH"/);
    assert.ok(nodeProblem('22.18.0', 'node'));
    assert.equal(nodeProblem('22.19.0', 'node'), undefined);
    assert.equal(nodeProblem('24.1.0', 'node'), undefined);
  });

  it('an older Node loading the entry point fails with that message', function () {
    const node = olderNode();
    if (!node) this.skip();
    const run = spawnSync(
      node!,
      ['--input-type=module', '-e', `await import(${JSON.stringify(ENTRY)})`],
      {
        encoding: 'utf8',
      },
    );
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /mcpfleet's Pulumi program needs Node >= 22\.19/);
    assert.doesNotMatch(run.stderr, /ERR_UNKNOWN_FILE_EXTENSION/);
  });

  it('the project Node loads it and gets the program as its default export', async () => {
    const entry = (await import('../../infra/main.js')) as { default: unknown };
    assert.equal(typeof entry.default, 'function');
  });
});
