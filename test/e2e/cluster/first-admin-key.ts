// The first admin key of a deployed controller, made as docs/runbooks/first-deployment.md says:
// `mcpfleet keys create --database-url "$DATABASE_URL"` run inside the controller pod (kubectl
// exec), where the database URL and the key-hashing secret are already in the environment from
// their Secrets — neither leaves the cluster. The page's command is read from the page, and what
// follows `--` runs in the pod through the test's stand-in for kubectl exec (controller-pod.ts:
// the process kubelet serves logs, not exec).
import type { ControllerPod } from './controller-pod.ts';
import { readRunbook } from './runbook-pages.ts';

const PAGE = 'first-deployment.md';

/** The page's bootstrap command: the part `kubectl exec … --` runs in the container. */
export function bootstrapCommand(): string {
  const command = readRunbook(PAGE).untried.find((c) => / keys create .*--role admin/.test(c));
  if (!command)
    throw new Error(`${PAGE} gives no "kubectl exec … keys create --role admin" command`);
  const [, inPod] = /^kubectl -n \S+ exec deploy\/mcpfleet-controller -- (.+)$/.exec(command) ?? [];
  if (!inPod) throw new Error(`${PAGE}: not a kubectl exec into the controller: ${command}`);
  return inPod;
}

/** Runs the bootstrap in the pod; the key it printed once. */
export async function firstAdminKey(controller: ControllerPod): Promise<string> {
  const result = await controller.exec(['/bin/sh', '-c', bootstrapCommand()], 60_000);
  const key = /^mcpf_\S+$/m.exec(result.output)?.[0];
  if (result.exitCode !== 0 || !key)
    throw new Error(`the bootstrap exited ${result.exitCode}:\n${result.output}`);
  return key;
}
