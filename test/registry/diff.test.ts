// `mcpfleet registry diff` as a pull request's reviewer gets it: a real git repository holding
// a copy of the starter registry, a change in its working tree or on a branch, the real CLI.
import assert from 'node:assert/strict';
import { readFile, rm, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { serverJson } from './temp-registry.ts';
import { tempGitRepo, type TempGitRepo } from './temp-git-repo.ts';

interface Field {
  path: string;
  base?: unknown;
  head?: unknown;
}
interface ObjectDiff {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  change: string;
  fields: Field[];
  object?: { kind: string; metadata: { name: string } };
}
interface ServerDiff {
  slug: string;
  name?: string;
  status: string;
  version: { base?: string; head?: string };
  compared: boolean;
  problems: {
    base: { file: string; message: string }[];
    head: { file: string; message: string }[];
  };
  objects: ObjectDiff[];
}
interface Diff {
  schema: string;
  stack: string;
  registry: string;
  base: { ref: string; commit: string; problems: { file: string; message: string }[] };
  head: { ref: string; problems: { file: string; message: string }[] };
  summary: { servers: Record<string, number>; objects: Record<string, number> };
  servers: ServerDiff[];
  platform: ObjectDiff[];
}

async function jsonDiff(repo: TempGitRepo, ...args: string[]): Promise<Diff> {
  const result = await repo.mcpfleet('registry', 'diff', '--format', 'json', ...args);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Diff;
}

function server(diff: Diff, slug: string): ServerDiff {
  const found = diff.servers.find((s) => s.slug === slug);
  assert.ok(found, `${slug} in ${diff.servers.map((s) => s.slug).join(', ')}`);
  return found;
}

function object(of: ServerDiff, kind: string): ObjectDiff {
  const found = of.objects.find((o) => o.kind === kind);
  assert.ok(found, `${of.slug}: a ${kind} in ${of.objects.map((o) => o.kind).join(', ')}`);
  return found;
}

function field(of: ObjectDiff, fieldPath: string): Field {
  const found = of.fields.find((f) => f.path === fieldPath);
  assert.ok(
    found,
    `${of.kind} ${of.name}: ${fieldPath} in\n  ${of.fields.map((f) => f.path).join('\n  ')}`,
  );
  return found;
}

async function editJson(file: string, edit: (document: Record<string, unknown>) => void) {
  const document = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  edit(document);
  await writeFile(file, `${JSON.stringify(document, null, 2)}\n`);
}

/** Bumps fetch to 2025.5.0 (server and package), as a version-bump PR does. */
async function bumpFetch(repo: TempGitRepo): Promise<void> {
  await editJson(path.join(repo.dir, 'registry/servers/fetch/server.json'), (document) => {
    document.version = '2025.5.0';
    (document.packages as { version: string }[])[0]!.version = '2025.5.0';
  });
}

async function addDemo(repo: TempGitRepo): Promise<void> {
  await mkdir(path.join(repo.dir, 'registry/servers/demo'));
  await writeFile(
    path.join(repo.dir, 'registry/servers/demo/server.json'),
    JSON.stringify(serverJson({ name: 'io.example/demo' }), null, 2),
  );
}

describe('mcpfleet registry diff', function () {
  this.timeout(60_000);
  let repo: TempGitRepo;
  beforeEach(async () => {
    repo = await tempGitRepo();
  });
  afterEach(() => repo.cleanup());

  it('says nothing changed when nothing did, and names the base it compared with', async () => {
    const diff = await jsonDiff(repo);
    assert.equal(diff.schema, 'mcpfleet.dev/registry-diff/v1');
    assert.equal(diff.base.ref, 'main', 'no origin/main here: main');
    assert.equal(diff.base.commit, (await repo.git('rev-parse', 'HEAD')).trim());
    assert.equal(diff.stack, 'prod');
    assert.deepEqual(diff.servers, []);
    assert.deepEqual(diff.platform, []);
    const markdown = await repo.mcpfleet('registry', 'diff');
    assert.equal(markdown.code, 0, markdown.stderr);
    assert.match(markdown.stdout, /^### Registry diff: no server changes\n/);
    assert.match(markdown.stdout, /Kubernetes objects: none\./);
  });

  it('lists added, changed and removed servers with their objects and changed fields (JSON)', async () => {
    await addDemo(repo);
    await bumpFetch(repo);
    await rm(path.join(repo.dir, 'registry/servers/memory'), { recursive: true });
    const status = await repo.git('status', '--porcelain');
    const diff = await jsonDiff(repo);
    assert.equal(await repo.git('status', '--porcelain'), status, 'the working tree is untouched');

    assert.deepEqual(
      diff.servers.map((s) => [s.slug, s.status]),
      [
        ['demo', 'added'],
        ['fetch', 'changed'],
        ['memory', 'removed'],
      ],
    );
    assert.deepEqual(diff.summary, {
      servers: { added: 1, changed: 1, removed: 1 },
      // demo's three added, fetch's three changed plus the registry ConfigMap, memory's four gone
      // (its volume claim too: Pulumi lets go of it, retainOnDelete keeps it in the cluster).
      objects: { added: 3, changed: 4, removed: 4 },
    });

    const fetch = server(diff, 'fetch');
    assert.equal(fetch.name, 'io.github.modelcontextprotocol/fetch');
    assert.deepEqual(fetch.version, { base: '2025.4.7', head: '2025.5.0' });
    const deployment = object(fetch, 'Deployment');
    assert.equal(deployment.name, 'mcp-fetch');
    assert.equal(deployment.namespace, 'mcpfleet');
    assert.equal(deployment.change, 'changed');
    assert.deepEqual(field(deployment, 'metadata.labels["app.kubernetes.io/version"]'), {
      path: 'metadata.labels["app.kubernetes.io/version"]',
      base: '2025.4.7',
      head: '2025.5.0',
    });
    field(deployment, 'spec.template.metadata.labels["app.kubernetes.io/version"]');
    // prod bakes the package into an image: a new tag, and the bridge runs the new version.
    const image = field(deployment, 'spec.template.spec.containers[name=server].image');
    assert.match(String(image.base), /mcp-server-fetch-2025\.4\.7-/);
    assert.match(String(image.head), /mcp-server-fetch-2025\.5\.0-/);
    const argv = deployment.fields.find((f) =>
      /containers\[name=server\]\.command\[\d+\]$/.test(f.path),
    );
    assert.deepEqual(
      [argv?.base, argv?.head],
      ['mcp-server-fetch==2025.4.7', 'mcp-server-fetch==2025.5.0'],
    );
    assert.ok(
      deployment.fields.every((f) => /version|image|command/.test(f.path)),
      `only what a version changes: ${deployment.fields.map((f) => f.path).join(', ')}`,
    );
    assert.deepEqual(
      object(fetch, 'Service').fields.map((f) => f.path),
      ['metadata.labels["app.kubernetes.io/version"]'],
    );
    // The registry ConfigMap holds every server; fetch's part of it is filed under fetch.
    const configMap = object(fetch, 'ConfigMap');
    assert.equal(configMap.name, 'mcpfleet-registry-0');
    assert.deepEqual(field(configMap, 'data["servers.json"][slug=fetch].version'), {
      path: 'data["servers.json"][slug=fetch].version',
      base: '2025.4.7',
      head: '2025.5.0',
    });
    assert.ok(configMap.fields.every((f) => f.path.startsWith('data["servers.json"][slug=fetch]')));

    const demo = server(diff, 'demo');
    assert.deepEqual(demo.version, { head: '1.0.0' });
    assert.deepEqual(
      demo.objects.filter((o) => o.change === 'added').map((o) => `${o.kind}/${o.name}`),
      ['Deployment/mcp-demo', 'Service/mcp-demo', 'NetworkPolicy/mcp-demo'],
    );
    assert.equal(object(demo, 'Deployment').object?.metadata.name, 'mcp-demo', 'the whole object');
    assert.ok(field(object(demo, 'ConfigMap'), 'data["servers.json"][slug=demo]').head);

    const memory = server(diff, 'memory');
    assert.deepEqual(
      memory.objects.map((o) => `${o.change} ${o.kind}/${o.name}`),
      [
        'changed ConfigMap/mcpfleet-registry-0',
        'removed PersistentVolumeClaim/mcp-memory-data',
        'removed Deployment/mcp-memory',
        'removed Service/mcp-memory',
        'removed NetworkPolicy/mcp-memory',
      ],
    );
    assert.deepEqual(diff.platform, [], 'nothing else changed');
  });

  it('prints Markdown for a PR comment: summary, table, one collapsed section per server', async () => {
    await addDemo(repo);
    await bumpFetch(repo);
    await rm(path.join(repo.dir, 'registry/servers/memory'), { recursive: true });
    const { code, stdout, stderr } = await repo.mcpfleet(
      'registry',
      'diff',
      '--format',
      'markdown',
    );
    assert.equal(code, 0, stderr);
    const lines = stdout.split('\n');
    assert.equal(lines[0], '### Registry diff: 1 added, 1 changed, 1 removed (3 servers)');
    assert.match(
      stdout,
      /on stack <code>prod<\/code>; Kubernetes objects: 3 added, 4 changed, 4 removed\./,
    );
    assert.ok(lines.includes('| Server | Change | Version | Kubernetes objects |'));
    assert.ok(
      lines.includes(
        '| <code>fetch</code> <code>io.github.modelcontextprotocol/fetch</code> | changed | <code>2025.4.7</code> → <code>2025.5.0</code> | 4 changed |',
      ),
      stdout,
    );
    assert.ok(
      lines.some((l) =>
        /^\| <code>demo<\/code> .*\| added \| <code>1\.0\.0<\/code> \| 3 added, 1 changed \|$/.test(
          l,
        ),
      ),
    );
    assert.ok(
      lines.some((l) =>
        /^\| <code>memory<\/code> .*\| removed \|.*\| 1 changed, 4 removed \|$/.test(l),
      ),
    );
    assert.equal(stdout.match(/<details>\n<summary><code>/g)?.length, 3, 'one section per server');
    assert.match(
      stdout,
      /<summary><code>fetch<\/code> changed: ConfigMap mcpfleet-registry-0, Deployment mcp-fetch, Service mcp-fetch, NetworkPolicy mcp-fetch<\/summary>/,
    );
    assert.match(
      stdout,
      /\*\*Deployment <code>mcp-fetch<\/code>\*\* \(<code>apps\/v1<\/code>, namespace <code>mcpfleet<\/code>\) changed:/,
    );
    assert.ok(
      lines.includes(
        '| <code>metadata.labels["app.kubernetes.io/version"]</code> | <code>"2025.4.7"</code> | <code>"2025.5.0"</code> |',
      ),
    );
    // An added object's YAML is there to read (e.g. the NetworkPolicy's egress), without anchors.
    assert.match(
      stdout,
      /\*\*NetworkPolicy <code>mcp-demo<\/code>\*\* .* added:\n\n```yaml\napiVersion: networking\.k8s\.io\/v1\nkind: NetworkPolicy\n/,
    );
    assert.doesNotMatch(stdout, /&a1|\*a1/);
    assert.match(stdout, /\*\*Service <code>mcp-memory<\/code>\*\* \(.*\) removed\n/);
  });

  it('compares with the merge base, as GitHub shows a pull request, and counts commits on the branch', async () => {
    await repo.git('switch', '--quiet', '-c', 'bump-fetch');
    await bumpFetch(repo);
    await repo.commit('bump fetch');
    // main moves on after the branch was cut: its change is not this branch's.
    await repo.git('switch', '--quiet', 'main');
    await rm(path.join(repo.dir, 'registry/servers/deepwiki'), { recursive: true });
    await repo.commit('drop deepwiki on main');
    const mainTip = (await repo.git('rev-parse', 'HEAD')).trim();
    await repo.git('switch', '--quiet', 'bump-fetch');

    const diff = await jsonDiff(repo, '--base', 'main');
    assert.notEqual(diff.base.commit, mainTip);
    assert.equal(diff.base.commit, (await repo.git('rev-parse', 'HEAD~1')).trim());
    assert.deepEqual(
      diff.servers.map((s) => [s.slug, s.status]),
      [['fetch', 'changed']],
      'deepwiki, removed on main since, is not in this change',
    );
  });

  it('a remote server has no workload: its change is the registry ConfigMap entry', async () => {
    await editJson(path.join(repo.dir, 'registry/servers/deepwiki/server.json'), (document) => {
      (document.remotes as { url: string }[])[0]!.url = 'https://mcp.deepwiki.com/v2/mcp';
    });
    const deepwiki = server(await jsonDiff(repo), 'deepwiki');
    assert.deepEqual(
      deepwiki.objects.map((o) => [o.kind, o.fields.map((f) => f.path)]),
      [['ConfigMap', ['data["servers.json"][slug=deepwiki].upstream.url']]],
    );
  });

  it('renders the stack asked for: dev installs on start, so its Deployment runs the runner image', async () => {
    await bumpFetch(repo);
    const diff = await jsonDiff(repo, '--stack', 'dev');
    assert.equal(diff.stack, 'dev');
    const deployment = object(server(diff, 'fetch'), 'Deployment');
    assert.equal(deployment.namespace, 'mcpfleet-dev');
    assert.equal(
      deployment.fields.find((f) => f.path.endsWith('.image')),
      undefined,
      'the runner image does not change with the package version',
    );
    field(deployment, 'metadata.labels["app.kubernetes.io/version"]');
  });

  it('a server that breaks is listed with its problems, not compared; the rest still is', async () => {
    await writeFile(path.join(repo.dir, 'registry/servers/everything/server.json'), '{"name": 3');
    await bumpFetch(repo);
    const diff = await jsonDiff(repo);
    const everything = server(diff, 'everything');
    assert.equal(everything.status, 'changed');
    assert.equal(everything.compared, false);
    assert.deepEqual(everything.objects, [], 'its live objects are not shown as removed');
    assert.equal(everything.problems.head[0]?.file, 'registry/servers/everything/server.json');
    assert.match(everything.problems.head[0]!.message, /invalid JSON/);
    assert.equal(diff.head.problems.length, 1);
    assert.equal(server(diff, 'fetch').compared, true);
    assert.ok(object(server(diff, 'fetch'), 'Deployment'));

    const markdown = await repo.mcpfleet('registry', 'diff');
    assert.match(markdown.stdout, /> \*\*This change does not compile\*\* \(1 problem\)/);
    assert.match(
      markdown.stdout,
      /\| <code>everything<\/code> .*\| changed \|.*\| not compared \|/,
    );
    assert.match(
      markdown.stdout,
      /registry\/servers\/everything\/server\.json(:\d+:\d+)?: \$: invalid JSON/,
    );
  });

  it('a base that fails to compile is said so, and what can be compared still is', async () => {
    await editJson(path.join(repo.dir, 'registry/servers/memory/server.json'), (document) => {
      document.description = 7;
    });
    await repo.commit('a broken memory on main');
    await repo.git('switch', '--quiet', '-c', 'fix');
    await editJson(path.join(repo.dir, 'registry/servers/memory/server.json'), (document) => {
      document.description = 'Knowledge-graph memory';
    });
    await bumpFetch(repo);
    const diff = await jsonDiff(repo);
    assert.equal(diff.base.problems.length, 1);
    assert.equal(diff.base.problems[0]!.file, 'registry/servers/memory/server.json');
    assert.match(diff.base.problems[0]!.message, /expected string/);
    assert.deepEqual(diff.head.problems, []);
    const memory = server(diff, 'memory');
    assert.deepEqual([memory.status, memory.compared, memory.objects], ['changed', false, []]);
    assert.equal(memory.problems.base.length, 1);
    assert.ok(object(server(diff, 'fetch'), 'Deployment').fields.length > 0);

    const markdown = await repo.mcpfleet('registry', 'diff');
    assert.match(markdown.stdout, /> \*\*The base does not compile\*\* \(1 problem\)/);
    assert.match(markdown.stdout, /Did not compile on the base \(1 problem\)/);
  });

  it('reads the base from git objects only: a symlink there is reported, not followed', async () => {
    await rm(path.join(repo.dir, 'registry/servers/memory'), { recursive: true });
    await repo.git('commit', '--quiet', '--no-gpg-sign', '-am', 'memory gone');
    // A base whose server directory is a symlink (git stores the link, not its target).
    const { symlink } = await import('node:fs/promises');
    await symlink('fetch', path.join(repo.dir, 'registry/servers/memory'));
    await repo.commit('memory links to fetch');
    await repo.git('switch', '--quiet', '-c', 'unlink');
    await rm(path.join(repo.dir, 'registry/servers/memory'));
    const diff = await jsonDiff(repo);
    const memory = server(diff, 'memory');
    assert.equal(memory.status, 'removed');
    assert.match(memory.problems.base[0]!.message, /symlink/);
  });

  it('bad input is one clear line and exit 1, never a stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [['--base', 'no-such-branch'], /unknown base "no-such-branch": give a branch, tag or commit/],
      [
        ['--format', 'yaml'],
        /option '--format <format>' argument 'yaml' is invalid\. expected markdown or json/,
      ],
      [['--stack', 'staging'], /unknown stack "staging": expected one of local, dev, prod/],
      [['no/such/dir'], /cannot read the registry directory no\/such\/dir: ENOENT/],
    ];
    for (const [args, message] of cases) {
      const result = await repo.mcpfleet('registry', 'diff', ...args);
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stdout}`);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    }
    await rm(path.join(repo.dir, '.git'), { recursive: true });
    const outside = await repo.mcpfleet('registry', 'diff');
    assert.equal(outside.code, 1);
    assert.match(
      outside.stderr,
      /is not inside a git repository: registry diff reads the base from git history/,
    );
  });

  it('stays under the PR comment limit: leaves the YAML out first, then cuts, saying so', async () => {
    const addServers = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const slug = `bulk-${String(i).padStart(3, '0')}`;
        await mkdir(path.join(repo.dir, 'registry/servers', slug));
        await writeFile(
          path.join(repo.dir, 'registry/servers', slug, 'server.json'),
          JSON.stringify(serverJson({ name: `io.example/${slug}` })),
        );
      }
    };
    const limit = 60_000;
    await addServers(0, 30);
    const lean = await repo.mcpfleet('registry', 'diff');
    assert.equal(lean.code, 0, lean.stderr);
    assert.ok(lean.stdout.length <= limit, `${lean.stdout.length} characters`);
    assert.doesNotMatch(lean.stdout, /```yaml/);
    assert.match(lean.stdout, /_The YAML of added objects is left out to fit a comment: /);
    assert.equal(
      lean.stdout.match(/<summary><code>bulk-/g)?.length,
      30,
      'every server still there',
    );

    await addServers(30, 400);
    const cut = await repo.mcpfleet('registry', 'diff');
    assert.ok(cut.stdout.length <= limit, `${cut.stdout.length} characters`);
    assert.match(cut.stdout, /^### Registry diff: 400 added \(400 servers\)/);
    assert.match(
      cut.stdout,
      /_Cut short to fit a comment: .*--format json<\/code> has every server and object\._\n$/,
    );
    assert.ok((cut.stdout.match(/<summary><code>bulk-/g)?.length ?? 0) < 400);
    assert.equal(
      cut.stdout.split('<details>').length,
      cut.stdout.split('</details>').length,
      'every section it opens it closes',
    );
    const all = await jsonDiff(repo);
    assert.equal(all.servers.length, 400);
  });

  it('without --base and without origin/main or main it says what to pass', async () => {
    await repo.git('branch', '--move', 'main', 'trunk');
    const result = await repo.mcpfleet('registry', 'diff');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /neither origin\/main nor main exists here; pass --base/);
    await repo.git('update-ref', 'refs/remotes/origin/main', 'HEAD');
    const diff = await jsonDiff(repo);
    assert.equal(diff.base.ref, 'origin/main', 'origin/main, when it exists, comes first');
  });
});
