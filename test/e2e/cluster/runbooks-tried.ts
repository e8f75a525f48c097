// The runbooks "a server is stuck asleep / stuck awake", "Redis is down", "issuing and rotating
// API keys" (runbook-api-keys.ts) and "the controller lost its leader", tried on the rendered
// platform: every command of each page's `sh runbook`
// blocks runs, in page order, through an operator's shell (runbook-shell.ts), and each has its
// check here of what the page says to look for. The list of steps must be the page's list of
// commands, exactly: a command added to a page without a check, or a check whose command left
// the page, fails the test — so a page and what was tried cannot drift apart.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ensureKubectl } from '../../cluster/control-plane/build.ts';
import type { ControlPlane } from '../../cluster/control-plane/control-plane.ts';
import { until } from './cluster-state.ts';
import type { ControllerPod } from './controller-pod.ts';
import type { DeployedPlatform } from './deploy-platform.ts';
import type { NamespaceView } from './namespace-view.ts';
import { issueAndRotateApiKeys } from './runbook-api-keys.ts';
import { readRunbook } from './runbook-pages.ts';
import { RunbookShell, type ShellResult } from './runbook-shell.ts';

export interface RunbookContext {
  plane: ControlPlane;
  platform: DeployedPlatform;
  view: NamespaceView;
  controller: ControllerPod;
  namespace: string;
}

export interface Step {
  /** The command as the page writes it. */
  command: string;
  /** Done before the command runs (what happens to the platform between steps). */
  before?: () => Promise<void>;
  /** A command that runs until Ctrl-C: stopped once its output (after `meanwhile`) matches. */
  follow?: RegExp;
  meanwhile?: () => Promise<void>;
  /** Run again (every second, up to 60 s) until the check passes: "it returns to …". */
  eventually?: boolean;
  /** Exit status the page leads to expect (default 0). */
  exit?: number;
  check(result: ShellResult): void | Promise<void>;
}

type Steps = (ctx: RunbookContext, shell: RunbookShell) => Step[];

const lines = (text: string) => text.trimEnd().split('\n');

const stuckAsleepOrAwake: Steps = (ctx, shell) => {
  let client: Client | undefined;
  const podLog = () => {
    const pod = ctx.platform.kubelet.pod(ctx.namespace, shell.vars.get('pod')!);
    return readFileSync(pod!.containers[0]!.logPath!, 'utf8');
  };
  return [
    {
      command: 'npx mcpfleet status <slug>',
      check: ({ stdout }) => assert.match(stdout, /^everything\s+asleep\s+0\b/m),
    },
    {
      command: 'npx mcpfleet events <slug> --limit 20',
      check: ({ stdout }) => {
        assert.match(stdout, /\beverything\s+wake\b/);
        assert.match(stdout, /\beverything\s+sleep\b/);
      },
    },
    {
      command: 'npx mcpfleet logs <slug>',
      check: ({ stdout }) => assert.match(stdout, /asleep/),
    },
    {
      command: 'npx mcpfleet events <slug> --follow',
      // "then send the request": an MCP client connects and starts a long tool call, the
      // request in flight that keeps the server awake through the steps that look at its pod.
      meanwhile: async () => {
        client = new Client({ name: 'runbook', version: '1.0.0' });
        await client.connect(ctx.controller.mcpTransport('everything'));
        const call = {
          name: 'trigger-long-running-operation',
          arguments: { duration: 600, steps: 60 },
        };
        client.callTool(call, undefined, { timeout: 700_000 }).catch(() => undefined);
      },
      follow: /\beverything\s+wake\b/,
      check: ({ stderr }) => assert.equal(stderr, '', 'Ctrl-C ends it cleanly'),
    },
    {
      command: 'npx mcpfleet status <slug> --watch',
      follow: /\beverything\s+ready\b/,
      check: ({ stderr }) => assert.equal(stderr, '', 'Ctrl-C ends it cleanly'),
    },
    {
      command: 'kubectl -n <ns> get role mcpfleet-controller -o yaml',
      check: ({ stdout }) => {
        assert.match(stdout, /deployments\/scale/);
        assert.match(stdout, /- patch/);
      },
    },
    ...[1, 2].map(() => ({
      command: 'kubectl -n <ns> get deploy mcp-<slug>',
      check: ({ stdout }: ShellResult) => assert.match(stdout, /^mcp-everything\s+1\/1\s/m),
    })),
    {
      command: 'kubectl -n <ns> get pods -l mcpfleet.dev/server=<slug> -o wide',
      check: ({ stdout }) => {
        const row = /^(mcp-everything-\S+)\s+1\/1\s+Running\s/m.exec(stdout);
        assert.ok(row, stdout);
        shell.vars.set('pod', row[1]!);
      },
    },
    {
      command: 'kubectl -n <ns> describe pod <pod>',
      check: ({ stdout }) => {
        assert.match(stdout, /^Events:/m);
        assert.match(stdout, /Started\s+.*Started container/);
      },
    },
    {
      command: 'kubectl -n <ns> logs <pod> --tail 50',
      // Through the apiserver and the kubelet API: the container's own output, its last 50 lines.
      check: ({ stdout }) => {
        assert.ok(stdout.length > 0, 'the pod logged something');
        assert.deepEqual(lines(stdout), lines(podLog()).slice(-50));
      },
    },
    {
      command: 'kubectl -n <ns> logs <pod> --previous',
      exit: 1,
      check: ({ stderr }) =>
        assert.match(
          stderr,
          new RegExp(
            `previous terminated container "\\S+" in pod "${shell.vars.get('pod')}" not found`,
          ),
        ),
    },
    {
      command: 'kubectl -n <ns> get networkpolicy mcp-<slug> -o yaml',
      check: ({ stdout }) => assert.match(stdout, /app\.kubernetes\.io\/name: mcpfleet-controller/),
    },
    {
      command: 'npx mcpfleet wake <slug>',
      check: ({ stdout }) => assert.match(stdout, /\bready\b/),
    },
    {
      command: 'npx mcpfleet status <slug>',
      // Stuck awake, step 1: the long tool call is the request in flight that keeps it awake.
      check: ({ stdout }) => assert.match(stdout, /^everything\s+ready\s+1\s+\d+\s+[1-9]/m),
    },
    {
      command: 'npx mcpfleet sleep <slug>',
      before: async () => {
        await client?.close(); // the client goes, and its call with it
      },
      check: async ({ stdout }) => {
        assert.match(stdout, /\basleep\b/);
        assert.equal(await ctx.view.scale('mcp-everything'), 0);
      },
    },
  ];
};

const redisIsDown: Steps = (ctx) => {
  const redisPid = () => {
    const pod = ctx.platform.kubelet
      .pods()
      .find((p) => p.namespace === ctx.namespace && p.name.startsWith('mcpfleet-redis-'));
    const pid = pod?.containers.find((c) => c.kind !== 'init')?.pid;
    assert.ok(pid, 'the Redis container runs');
    return pid;
  };
  return [
    {
      command: 'curl -s "$MCPFLEET_URL/readyz" | jq .checks.coord',
      // The incident: Redis hangs (its process stopped), so every call to it times out.
      before: async () => {
        process.kill(redisPid(), 'SIGSTOP');
        await until(
          async () =>
            (await ctx.controller.getJson<{ status: string }>('/readyz')).body.status ===
            'degraded',
          'the controller to report degraded',
          60_000,
        );
      },
      check: ({ stdout }) => {
        const coord = JSON.parse(stdout) as { ok: boolean; error?: string };
        assert.equal(coord.ok, false, stdout);
        assert.ok(coord.error, 'the check says why');
      },
    },
    {
      command: `curl -s "$MCPFLEET_URL/metrics" | grep '^mcpfleet_dependency_up'`,
      check: ({ stdout }) => assert.match(stdout, /dependency="coord"[^}]*\} 0$/m),
    },
    {
      command:
        'kubectl get --raw "/api/v1/namespaces/<ns>/services/mcpfleet-controller:http/proxy/readyz" | jq .status',
      check: ({ stdout }) => assert.equal(stdout.trim(), '"degraded"'),
    },
    {
      command: 'kubectl -n <ns> get pods -l app.kubernetes.io/name=mcpfleet-redis',
      check: ({ stdout }) => assert.match(stdout, /^mcpfleet-redis-0\s+1\/1\s+Running\s/m),
    },
    {
      command: 'kubectl -n <ns> logs statefulset/mcpfleet-redis --tail 20',
      check: ({ stdout }) => assert.match(stdout, /Ready to accept connections/),
    },
    {
      command: `kubectl -n <ns> get secret mcpfleet-redis -o jsonpath='{.data}' | jq keys`,
      check: ({ stdout }) => assert.ok((JSON.parse(stdout) as string[]).includes('url'), stdout),
    },
    {
      command: 'curl -s "$MCPFLEET_URL/readyz" | jq .status',
      before: async () => {
        process.kill(redisPid(), 'SIGCONT'); // "Bring Redis back"
      },
      eventually: true,
      check: ({ stdout }) => assert.equal(stdout.trim(), '"ready"'),
    },
  ];
};

const controllerLostItsLeader: Steps = (ctx, shell) => {
  const canI = (verb: string) => ({
    command: `kubectl -n <ns> auth can-i ${verb} leases.coordination.k8s.io --as=system:serviceaccount:<ns>:mcpfleet-controller`,
    check: ({ stdout }: ShellResult) => assert.equal(stdout.trim(), 'yes'),
  });
  const leaseHolder = async () => {
    const lease = await ctx.platform.applier.request<{ spec: { holderIdentity?: string } }>(
      'GET',
      `/apis/coordination.k8s.io/v1/namespaces/${ctx.namespace}/leases/mcpfleet-controller`,
    );
    return lease.spec.holderIdentity?.replace(/_[^_]*$/, '');
  };
  return [
    {
      command: 'kubectl -n <ns> get pods -l app.kubernetes.io/name=mcpfleet-controller',
      check: ({ stdout }) => {
        const row = /^(mcpfleet-controller-\S+)\s+1\/1\s+Running\s/m.exec(stdout);
        assert.ok(row, stdout);
        shell.vars.set('pod', row[1]!);
      },
    },
    {
      command: `curl -s "$MCPFLEET_URL/metrics" | grep '^mcpfleet_leader'`,
      check: ({ stdout }) => assert.match(stdout, /^mcpfleet_leader 1$/m),
    },
    {
      command: 'kubectl -n <ns> get lease mcpfleet-controller -o yaml',
      check: ({ stdout }) => {
        const holder = /holderIdentity: (\S+)_\S+/.exec(stdout);
        assert.equal(holder?.[1], shell.vars.get('pod'), stdout);
        assert.match(stdout, /renewTime:/);
        shell.vars.set('holder-pod', holder![1]!);
      },
    },
    {
      command: `kubectl -n <ns> logs deploy/mcpfleet-controller | grep -E 'leadership lost|could not release the lease' || echo none`,
      check: ({ stdout }) => assert.equal(stdout.trim(), 'none'),
    },
    canI('update'),
    canI('get'),
    canI('create'),
    {
      command: `curl -s "$MCPFLEET_URL/metrics" | grep -E '^(process_cpu_seconds_total|nodejs_eventloop_lag_p99_seconds)'`,
      check: ({ stdout }) => {
        assert.match(stdout, /^process_cpu_seconds_total \d/m);
        assert.match(stdout, /^nodejs_eventloop_lag_p99_seconds \d/m);
      },
    },
    {
      command: `kubectl -n <ns> get deploy mcpfleet-controller -o jsonpath='{.spec.template.spec.containers[0].resources}'`,
      check: ({ stdout }) => {
        const declared = ctx.platform.object('Deployment', 'mcpfleet-controller').spec as {
          template: { spec: { containers: { resources?: object }[] } };
        };
        const resources = declared.template.spec.containers[0]!.resources;
        assert.deepEqual(stdout ? JSON.parse(stdout) : undefined, resources);
      },
    },
    {
      command: 'kubectl -n <ns> delete pod <holder-pod>',
      check: async ({ stdout }) => {
        const old = shell.vars.get('holder-pod')!;
        assert.match(stdout, new RegExp(`pod "${old}" deleted`));
        // "the Deployment's new pod takes over within 15 s" (plus its start).
        await until(
          async () => {
            // Not just released (an empty holder): held by the Deployment's new pod.
            const holder = await leaseHolder();
            return Boolean(holder?.startsWith('mcpfleet-controller-')) && holder !== old;
          },
          'a new controller pod to take the Lease',
          90_000,
        );
      },
    },
  ];
};

/** The key in MCPFLEET_TOKEN: an operator's, or (to manage keys) the first admin key. */
type Credential = 'operator' | 'admin';

const PAGES: [file: string, steps: Steps, credential: Credential][] = [
  ['server-stuck-asleep-or-awake.md', stuckAsleepOrAwake, 'operator'],
  ['redis-is-down.md', redisIsDown, 'operator'],
  ['issue-and-rotate-api-keys.md', issueAndRotateApiKeys, 'admin'],
  // Last: its fix deletes the controller pod the rest of the platform test talks to.
  ['controller-lost-its-leader.md', controllerLostItsLeader, 'operator'],
];

async function tryStep(shell: RunbookShell, step: Step): Promise<void> {
  await step.before?.();
  const describe = (r: ShellResult) =>
    `${shell.substitute(step.command)} → exit ${r.code}\n${r.stdout}${r.stderr}`;
  const attempt = async () => {
    const result = step.follow
      ? await shell.follow(step.command, step.follow, step.meanwhile)
      : await shell.run(step.command);
    // Ctrl-C ends a followed command and the shell with it (killed by SIGINT: no exit code).
    const expected = step.exit ?? (step.follow ? null : 0);
    assert.equal(result.code, expected, describe(result));
    try {
      await step.check(result);
    } catch (error) {
      throw new Error(`${describe(result)}\n${(error as Error).message}`, { cause: error });
    }
  };
  if (!step.eventually) return attempt();
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

/** Registers the runbooks' tests; call inside the platform's describe, after its other tests. */
export function describeRunbooksTried(context: () => RunbookContext): void {
  describe('runbooks, tried on this platform (every `sh runbook` command, in page order)', function () {
    let shells: Record<Credential, RunbookShell>;

    before(async function () {
      this.timeout(15 * 60_000); // a first run builds kubectl
      const ctx = context();
      const kubeconfig = join(mkdtempSync(join(tmpdir(), 'mcpfleet-runbooks-')), 'kubeconfig');
      writeFileSync(kubeconfig, ctx.plane.kubeConfig().exportConfig(), { mode: 0o600 });
      const shellWith = (token: string) =>
        new RunbookShell({ kubectl, kubeconfig, mcpfleetUrl: ctx.controller.url, token });
      const kubectl = await ensureKubectl();
      // The operator's own key, issued through the API with the platform's first admin key, as
      // issue-and-rotate-api-keys.md has an admin do; the fixes below need operator (wake, sleep).
      const admin = ctx.controller.token;
      assert.ok(admin, 'the platform test made the first admin key');
      const created = await shellWith(admin).run(
        'npx mcpfleet keys create --name runbooks --role operator --expires 1d',
      );
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stderr, /Key "runbooks" \(id [0-9a-f]+, operator, expires /);
      shells = { operator: shellWith(created.stdout.trim()), admin: shellWith(admin) };
      for (const shell of Object.values(shells)) {
        shell.vars.set('ns', ctx.namespace);
        shell.vars.set('slug', 'everything');
      }
    });

    it('writes every command of the pages in a block: none inline where no test runs it', () => {
      for (const [file] of PAGES) assert.deepEqual(readRunbook(file).inlineCommands, [], file);
    });

    for (const [file, steps, credential] of PAGES) {
      it(`${file}: runs each command and finds what the page says to look for`, async function () {
        this.timeout(10 * 60_000);
        const shell = shells[credential];
        const page = readRunbook(file);
        const planned = steps(context(), shell);
        assert.deepEqual(
          planned.map((s) => s.command),
          page.tried,
          `the steps tried are the page's \`sh runbook\` commands, in order`,
        );
        for (const step of planned) await tryStep(shell, step);
      });
    }
  });
}
