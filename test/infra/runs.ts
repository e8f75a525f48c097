// One mocked run per stack file, shared by the test files that only read it (each run resets
// Pulumi's runtime, so they happen one after another), and small finders over a run.
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../infra/config.ts';
import { readStackFile } from '../../infra/render.ts';
import { ofType, runStack, type Recorded, type StackRun } from './harness.ts';

const runs = new Map<string, Promise<StackRun>>();
let queue: Promise<unknown> = Promise.resolve();

/** The program run on Pulumi.<stack>.yaml, computed once per process. */
export function stackRun(stack: 'local' | 'dev' | 'prod'): Promise<StackRun> {
  let run = runs.get(stack);
  if (!run) {
    run = queue.then(() => runStack({ stack }));
    queue = run.catch(() => undefined);
    runs.set(stack, run);
  }
  return run;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Obj = Record<string, any>;

/** The one resource of `type` whose Pulumi name matches. */
export function resource(run: StackRun, type: string, name: string | RegExp): Recorded {
  const found = ofType(run, type).filter((r) =>
    typeof name === 'string' ? r.name === name : name.test(r.name),
  );
  assert.equal(found.length, 1, `${type} ${String(name)}: ${found.length} registered`);
  return found[0]!;
}

/** The Kubernetes object of `type` with this metadata.name. */
export function k8sObject(run: StackRun, type: string, name: string): Recorded {
  const found = ofType(run, type).find((r) => (r.inputs.metadata as Obj)?.name === name);
  assert.ok(found, `${type} ${name} not registered`);
  return found;
}

/** The controller's Deployment, its pod template, its container's env and one env value. */
export const controllerOf = (run: StackRun): Recorded =>
  k8sObject(run, 'kubernetes:apps/v1:Deployment', 'mcpfleet-controller');
export const controllerPodOf = (run: StackRun): Obj =>
  (controllerOf(run).inputs.spec as Obj).template;
export const controllerEnvOf = (run: StackRun): Obj[] =>
  controllerPodOf(run).spec.containers[0].env;
export const controllerEnvValue = (run: StackRun, name: string): string | undefined =>
  controllerEnvOf(run).find((e) => e.name === name)?.value;

/** The error parseConfig gives for the local stack's config with these top-level keys replaced. */
export function localConfigError(changes: Record<string, unknown>): string {
  try {
    parseConfig({ ...readStackFile('local'), ...changes });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail(`accepted: ${JSON.stringify(changes)}`);
}

export const urnsOf = (run: StackRun, type: string) => ofType(run, type).map((r) => r.urn);

/**
 * The Pod Identity role an add-on hands its service account: the service account, whether only
 * the Pod Identity service may assume the role, and the policies attached to it.
 */
export function addonIdentity(
  run: StackRun,
  addonName: string,
): { serviceAccount: string; trustsPodIdentity: boolean; policies: string[] } {
  const addon = ofType(run, 'aws:eks/addon:Addon').find((a) => a.inputs.addonName === addonName);
  assert.ok(addon, `add-on ${addonName} not registered`);
  const [association] = addon.inputs.podIdentityAssociations as Obj[];
  assert.ok(association, `${addonName} has no Pod Identity association`);
  const role = ofType(run, 'aws:iam/role:Role').find((r) =>
    String(association.roleArn).endsWith(`/${r.name}`),
  );
  assert.ok(role, `${addonName}: no role ${association.roleArn}`);
  return {
    serviceAccount: association.serviceAccount,
    trustsPodIdentity:
      JSON.parse(String(role.inputs.assumeRolePolicy)).Statement[0].Principal.Service ===
      'pods.eks.amazonaws.com',
    policies: ofType(run, 'aws:iam/rolePolicyAttachment:RolePolicyAttachment')
      .filter((a) => a.inputs.role === role.name)
      .map((a) => a.inputs.policyArn as string),
  };
}
