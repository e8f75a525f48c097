// Issue 10, deployable: the platform-wide Cedar policy file (mcpfleet:auth.policyFile) and the
// audit retention (mcpfleet:audit.retention) reach the deployed controller. The program reads
// the policy file from the project, checks it with the controller's own Cedar validation (a
// broken file fails the preview with Cedar's message at its line), ships it in a ConfigMap
// mounted read-only, names it in MCPFLEET_POLICY_FILE and rolls the pods when it changes; the
// retention is checked with the controller's parser and set as MCPFLEET_AUDIT_RETENTION.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../infra/config.ts';
import {
  PLATFORM_POLICY_CHECKSUM_ANNOTATION,
  PLATFORM_POLICY_CONFIGMAP,
  PLATFORM_POLICY_DIR,
} from '../../infra/manifests/platformPolicy.ts';
import { readStackFile } from '../../infra/render.ts';
import { ofType, runStack, stackConfig, type StackRun } from './harness.ts';
import { validateKubernetesObject } from './validate.ts';
import {
  controllerEnvValue,
  controllerOf,
  controllerPodOf,
  localConfigError,
  stackRun,
  type Obj,
} from './runs.ts';

const CONFIGMAP = 'kubernetes:core/v1:ConfigMap';
const FIXTURE = 'test/infra/fixtures/platform.cedar';

const containerOf = (run: StackRun): Obj => controllerPodOf(run).spec.containers[0];
const policyConfigMaps = (run: StackRun) =>
  ofType(run, CONFIGMAP).filter(
    (r) => (r.inputs.metadata as Obj).name === PLATFORM_POLICY_CONFIGMAP,
  );
const checksumOf = (run: StackRun): string | undefined =>
  controllerPodOf(run).metadata.annotations[PLATFORM_POLICY_CHECKSUM_ANNOTATION];
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The local stack with its own config changed under `mcpfleet:<key>`. */
function withConfig(changes: Record<string, Obj>): Promise<StackRun> {
  const { config, secretKeys } = stackConfig('local');
  const changed = { ...config };
  for (const [key, value] of Object.entries(changes))
    changed[`mcpfleet:${key}`] = JSON.stringify(value);
  return runStack({ stack: 'local', secretKeys, config: changed });
}
const withPolicyFile = (policyFile: string) => withConfig({ auth: { policyFile } });

/** The message a run fails with. */
async function failure(run: Promise<StackRun>): Promise<string> {
  try {
    await run;
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, not ${String(err)}`);
    return err.message;
  }
  assert.fail('the program ran');
}

describe('issue 10: the platform policy file and audit retention in the cluster', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mcpfleet-infra-policy-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A policy file outside the project, named by its path relative to it. */
  async function policyFile(text: string, name = 'platform.cedar'): Promise<string> {
    const sub = await mkdtemp(path.join(dir, 'f-'));
    await writeFile(path.join(sub, name), text);
    return path.relative(process.cwd(), path.join(sub, name));
  }

  it('ships the file in a ConfigMap, mounted read-only, named by MCPFLEET_POLICY_FILE', async () => {
    const run = await withPolicyFile(FIXTURE);
    const text = readFileSync(FIXTURE, 'utf8');
    const [configMap, ...more] = policyConfigMaps(run);
    assert.ok(configMap, 'the policy ConfigMap is registered');
    assert.equal(more.length, 0);
    assert.deepEqual(configMap.inputs.data, { 'platform.cedar': text }, 'the file, as written');
    assert.equal((configMap.inputs.metadata as Obj).namespace, readStackFile('local').namespace);

    const pod = controllerPodOf(run);
    const volume = (pod.spec.volumes as Obj[]).find(
      (v) => v.configMap?.name === PLATFORM_POLICY_CONFIGMAP,
    );
    assert.deepEqual(volume?.configMap.items, [{ key: 'platform.cedar', path: 'platform.cedar' }]);
    const mount = (containerOf(run).volumeMounts as Obj[]).find((m) => m.name === volume!.name);
    assert.deepEqual(mount, { name: volume!.name, mountPath: PLATFORM_POLICY_DIR, readOnly: true });
    // Keeping the file's name keeps the rule names the pods report: platform.cedar:<line>.
    assert.equal(
      controllerEnvValue(run, 'MCPFLEET_POLICY_FILE'),
      `${PLATFORM_POLICY_DIR}/platform.cedar`,
    );
    assert.equal(checksumOf(run), sha256(text));
    validateKubernetesObject(configMap.inputs);
    validateKubernetesObject(controllerOf(run).inputs);
    assert.ok(
      controllerOf(run).dependencies.includes(configMap.urn),
      'the pods start after the ConfigMap exists',
    );
  });

  it('a changed file changes the checksum, so the pods roll; the same content does not', async () => {
    const text = readFileSync(FIXTURE, 'utf8');
    const before = checksumOf(await withPolicyFile(await policyFile(text)));
    const same = checksumOf(await withPolicyFile(await policyFile(text)));
    const changedText = `${text}\n@id("no-admin-tools")\nforbid (principal, action == Action::"call_tool", resource) when { resource.name like "admin_*" };\n`;
    const changed = await withPolicyFile(await policyFile(changedText));
    assert.equal(before, sha256(text));
    assert.equal(same, before, 'another path, same content: no restart');
    assert.equal(checksumOf(changed), sha256(changedText));
    assert.notEqual(checksumOf(changed), before);
    assert.deepEqual(policyConfigMaps(changed)[0]!.inputs.data, { 'platform.cedar': changedText });
  });

  it('no policyFile: no ConfigMap, no mount, no env, no checksum', async () => {
    for (const stack of ['local', 'dev', 'prod'] as const) {
      const run = await stackRun(stack);
      assert.deepEqual(policyConfigMaps(run), [], stack);
      assert.equal(controllerEnvValue(run, 'MCPFLEET_POLICY_FILE'), undefined, stack);
      assert.equal(checksumOf(run), undefined, stack);
      const mounts = (containerOf(run).volumeMounts as Obj[]).map((m) => m.mountPath);
      assert.ok(!mounts.includes(PLATFORM_POLICY_DIR), stack);
    }
  });

  it("a file Cedar refuses fails the preview with Cedar's message, the file and the line", async () => {
    const broken = await policyFile(
      '// two rules\npermit (principal, action, resource);\nforbid (principal, action, resource) when { x };\n',
    );
    const syntax = await failure(withPolicyFile(broken));
    assert.match(
      syntax,
      new RegExp(`mcpfleet:auth\\.policyFile: policy file ${escape(broken)}:3:\\d+: `),
    );
    const misspelt = await policyFile(
      'forbid (principal, action, resource)\nwhen { principal.grups.contains("contractors") };\n',
    );
    const misfit = await failure(withPolicyFile(misspelt));
    assert.match(
      misfit,
      /mcpfleet:auth\.policyFile: policy file .* does not fit what the gateway knows/,
    );
    assert.match(
      misfit,
      /platform\.cedar:1: .*attribute `grups` on entity type `Principal` not found/,
    );
    const template = await policyFile('permit (principal == ?principal, action, resource);\n');
    assert.match(await failure(withPolicyFile(template)), /holds a template/);
  });

  it('a file that is not there, or whose name no ConfigMap key may have, is refused naming the key', async () => {
    assert.match(
      await failure(withPolicyFile('policies/absent.cedar')),
      /mcpfleet:auth\.policyFile: policy file policies\/absent\.cedar cannot be read \(ENOENT\); the path is relative to the Pulumi project/,
    );
    assert.match(
      localConfigError({ auth: { policyFile: 'policies/platform policy.cedar' } }),
      /mcpfleet:auth\.policyFile: the file's name may hold only letters, digits/,
    );
    assert.match(
      localConfigError({ auth: { policyFile: '' } }),
      /mcpfleet:auth\.policyFile: expected a non-empty string/,
    );
  });

  it('audit.retention becomes MCPFLEET_AUDIT_RETENTION; absent, the controller keeps its default', async () => {
    const run = await withConfig({ audit: { retention: '90d' } });
    assert.equal(controllerEnvValue(run, 'MCPFLEET_AUDIT_RETENTION'), '90d');
    const keepAll = await withConfig({ audit: { retention: 0 } });
    assert.equal(controllerEnvValue(keepAll, 'MCPFLEET_AUDIT_RETENTION'), '0');
    for (const stack of ['local', 'dev', 'prod'] as const)
      assert.equal(
        controllerEnvValue(await stackRun(stack), 'MCPFLEET_AUDIT_RETENTION'),
        undefined,
        stack,
      );
  });

  it('refuses a retention the controller would refuse, naming the key', () => {
    assert.match(
      localConfigError({ audit: { retention: 'a month' } }),
      /mcpfleet:audit\.retention: "a month" is not a duration: use a number with a unit, like 30d, 12h or 30m, or 0 to keep every record/,
    );
    assert.match(
      localConfigError({ audit: { retention: 90 } }),
      /mcpfleet:audit\.retention: expected a duration with its unit, such as "90d"/,
    );
    assert.match(
      localConfigError({ audit: { keep: '90d' } }),
      /mcpfleet:audit: unknown key\(s\) keep/,
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
