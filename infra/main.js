// The entry point Pulumi runs (Pulumi.yaml `main`). Plain JavaScript on purpose: Pulumi starts
// the program with whatever `node` is first on PATH, and a Node older than 22.19 cannot load the
// TypeScript program at all (import('./index.ts') fails with ERR_UNKNOWN_FILE_EXTENSION, which
// says nothing about why). This file loads on any Node, says what to do, and otherwise hands
// over to infra/index.ts.

/** The oldest Node that runs the program: 22.19 strips TypeScript types without a flag. */
export const MINIMUM_NODE = [22, 19];

/** Why this Node cannot run the program, or undefined when it can. */
export function nodeProblem(version = process.versions.node, execPath = process.execPath) {
  const [major, minor] = version.split('.').map(Number);
  const [wantMajor, wantMinor] = MINIMUM_NODE;
  if (major > wantMajor || (major === wantMajor && minor >= wantMinor)) return undefined;
  return [
    `mcpfleet's Pulumi program needs Node >= ${wantMajor}.${wantMinor}, but Pulumi started it with Node ${version} (${execPath}), the first node on PATH.`,
    "Put the project's own Node 22 (installed by npm ci into node_modules/.bin) first on PATH, then run pulumi again:",
    '  export PATH="$PWD/node_modules/.bin:$PATH"     (from the repository root; see docs/runbooks/first-deployment.md)',
  ].join('\n');
}

const problem = nodeProblem();
if (problem) throw new Error(problem);

export default async function main() {
  const { default: program } = await import('./index.ts');
  return program();
}
