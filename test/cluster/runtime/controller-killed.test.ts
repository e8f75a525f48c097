// A controller replica killed (SIGKILL) in the middle of a wake: the wake lock it held expires
// within seconds (it was renewed, not taken for the whole startup timeout), another replica
// takes it over, finds the Deployment already scaled, sends no second patch, and answers.
// The controllers are real `mcpfleet serve --runtime kubernetes` processes.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../controller/support/free-port.ts';
import { EVERYTHING_BIN } from '../../controller/support/processes.ts';
import { startScenario, type Scenario } from './scenario.ts';

const REPO = new URL('../../../', import.meta.url).pathname;
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface ServeProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
}

async function serve(args: string[]): Promise<ServeProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      join(REPO, 'controller/cli/bin.js'),
      'serve',
      ...args,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MCPFLEET_LOG_LEVEL: 'warn' } },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 30_000);
    child.stdout!.on('data', () => {
      if (output.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}:\n${output}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, output: () => output };
}

const initialize = (url: string, signal?: AbortSignal) =>
  fetch(`${url}/servers/everything/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 't', version: '1' },
      },
    }),
    ...(signal ? { signal } : {}),
  });

describe('Kubernetes runtime: a controller replica killed mid-wake', function () {
  this.timeout(120_000);
  let scenario: Scenario;
  const controllers: ServeProcess[] = [];

  before(async function () {
    this.timeout(60 * 60_000);
    scenario = await startScenario({
      name: 'killed',
      nodes: [{ arch: 'amd64', podCIDR: '10.244.31.0/24' }],
      // The server takes 3 s to answer its first ping: a wake long enough to kill its owner in.
      deployment: {
        args: ['/bin/sh', '-c', `sleep 3; exec '${process.execPath}' '${EVERYTHING_BIN}'`],
      },
    });
    // The registry as the cluster ships it: a shard of compiled specs.
    const registry = mkdtempSync(join(tmpdir(), 'registry-shards-'));
    writeFileSync(
      join(registry, 'mcpfleet-registry-0.json'),
      JSON.stringify([scenario.everything]),
    );
    for (const name of ['a', 'b']) {
      controllers.push(
        await serve([
          '--runtime',
          'kubernetes',
          '--namespace',
          scenario.namespace,
          '--pod-name',
          `controller-${name}`,
          '--kubeconfig',
          scenario.kubeconfigPath,
          '--registry',
          registry,
          '--database-url',
          DATABASE_URL,
          '--redis-url',
          REDIS_URL,
        ]),
      );
    }
  });

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const [i, c] of controllers.entries())
      console.error(`controller ${'ab'[i]}:\n${c.output()}`);
    await scenario.dump();
  });

  after(async function () {
    this.timeout(60_000);
    for (const c of controllers) c.child.kill('SIGKILL');
    await scenario?.stop();
  });

  it('lets another replica finish the wake, with no second scale patch', async () => {
    const [a, b] = controllers as [ServeProcess, ServeProcess];
    const abandoned = new AbortController();
    const first = initialize(a.url, abandoned.signal).catch(() => undefined);
    // Kill A once it has scaled the server up, i.e. in the middle of its wake.
    const deadline = Date.now() + 20_000;
    while ((await scenario.replicas()) === 0) {
      assert.ok(Date.now() < deadline, `A never scaled up:\n${a.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    a.child.kill('SIGKILL');
    abandoned.abort();
    await first;
    const killedAt = Date.now();
    const answer = await initialize(b.url);
    assert.equal(answer.status, 200, await answer.clone().text());
    assert.match(await answer.text(), /serverInfo/);
    // B waited at most for A's lock to run out (5 s) plus the server's own start.
    assert.ok(Date.now() - killedAt < 15_000, `${Date.now() - killedAt} ms`);
    assert.equal(await scenario.replicas(), 1);
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    assert.doesNotMatch(metrics, /mcpfleet_scale_patches_total\{[^}]*\} [1-9]/, 'B sent no patch');
  });
});
