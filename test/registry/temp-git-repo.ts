// Throwaway git repositories holding a copy of this project's registry and stack files, for
// running `mcpfleet registry diff` the way a pull request's checkout has it.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(REPO_ROOT, 'controller/cli/bin.js');

/** The same identity on every machine, and no user or system git config in the way. */
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'mcpfleet test',
  GIT_AUTHOR_EMAIL: 'test@mcpfleet.invalid',
  GIT_COMMITTER_NAME: 'mcpfleet test',
  GIT_COMMITTER_EMAIL: 'test@mcpfleet.invalid',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
};

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TempGitRepo {
  dir: string;
  git(...args: string[]): Promise<string>;
  /** `git add -A && git commit` inside the temporary repository. */
  commit(message: string): Promise<void>;
  /** The mcpfleet CLI of this checkout, run with the temporary repository as its cwd. */
  mcpfleet(...args: string[]): Promise<Result>;
  cleanup(): Promise<void>;
}

/** A repository on branch main whose first commit is this checkout's registry and stacks. */
export async function tempGitRepo(): Promise<TempGitRepo> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mcpfleet-diff-'));
  const git = async (...args: string[]) =>
    (await run('git', args, { cwd: dir, env: GIT_ENV })).stdout;
  await cp(path.join(REPO_ROOT, 'registry/servers'), path.join(dir, 'registry/servers'), {
    recursive: true,
  });
  for (const stack of ['dev', 'prod']) {
    await cp(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), path.join(dir, `Pulumi.${stack}.yaml`));
  }
  await git('init', '--quiet', '--initial-branch=main');
  const commit = async (message: string) => {
    await git('add', '--all');
    await git('commit', '--quiet', '--no-gpg-sign', '-m', message);
  };
  await commit('starter registry');
  return {
    dir,
    git,
    commit,
    async mcpfleet(...args) {
      try {
        const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
          cwd: dir,
          env: GIT_ENV,
          maxBuffer: 64 * 1024 * 1024,
        });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
