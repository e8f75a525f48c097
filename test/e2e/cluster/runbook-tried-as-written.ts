// The two tests of a runbook page tried against a controller started by the test (not the test
// cluster): its list of steps is the page's list of `sh runbook` commands, in page order, with
// no command written inline; and each command, run through the operator's shell, exits 0 and
// shows what its check says the page promises. A command added to the page without a check, or
// a check whose command left it, fails the first; a command that no longer works, the second.
import assert from 'node:assert/strict';
import { readRunbook } from './runbook-pages.ts';
import type { RunbookShell, ShellResult } from './runbook-shell.ts';

export interface RunbookStep {
  /** The command as the page writes it (continued lines joined by a space). */
  command: string;
  check(result: ShellResult): void;
}

/** Declares the page's two tests; `steps` and `shell` are read when they run (after `before`). */
export function itTriesThePage(
  page: string,
  steps: () => RunbookStep[],
  shell: () => RunbookShell,
): void {
  it('has a check for every command of the page, in its order, and no command inline', function () {
    const read = readRunbook(page);
    assert.deepEqual(
      steps().map((s) => s.command),
      read.tried,
    );
    assert.deepEqual(read.inlineCommands, []);
  });

  it('runs every command of the page, each showing what the page says', async function () {
    for (const step of steps()) {
      const result = await shell().run(step.command);
      assert.equal(result.code, 0, `${step.command}: ${result.stderr}`);
      try {
        step.check(result);
      } catch (err) {
        throw new Error(`${step.command}\n${result.stdout}\n${(err as Error).message}`, {
          cause: err,
        });
      }
    }
  });
}
