// Issue 12, descriptors, as it happened: `mcpfleet serve` under a small descriptor limit
// (ulimit -n 256) and a greedy client opening more idle sockets than that. The default cap,
// derived from the limit, keeps descriptors for the probes: /healthz answers. Without the cap
// the process runs out (EMFILE) and /healthz answers nobody. Also the flags, end to end.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { GreedyClient } from '../../fixtures/greedy-client.ts';

const BIN = fileURLToPath(new URL('../../../controller/cli/bin.js', import.meta.url));
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DESCRIPTORS = 256;

interface Serve {
  child: ChildProcess;
  base: string;
  port: number;
  output(): string;
  stop(): Promise<void>;
}

/** `mcpfleet serve` with no servers, under `ulimit -n DESCRIPTORS`. */
async function serve(registry: string, ...flags: string[]): Promise<Serve> {
  const child = spawn(
    'bash',
    [
      '-c',
      `ulimit -n ${DESCRIPTORS} && exec "$@"`,
      'bash',
      process.execPath,
      BIN,
      'serve',
      '--registry',
      registry,
      '--port',
      '0',
      '--database-url',
      DATABASE_URL,
      '--log-format',
      'json',
      ...flags,
    ],
    { env: { ...process.env, MCPFLEET_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner in 20 s:\n${out}`)), 20_000);
    const check = (): void => {
      const match = /listening on (http:\/\/\S+) /.exec(out);
      if (!match) return;
      clearTimeout(timer);
      resolve(match[1]!);
    };
    child.stdout!.on('data', check);
    void exited.then(() => reject(new Error(`serve exited:\n${out}`)));
  });
  return {
    child,
    base,
    port: Number(new URL(base).port),
    output: () => out,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A metric's value in the Prometheus text of /metrics (summed over its labels). */
async function metric(base: string, name: string, labels = ''): Promise<number> {
  const res = await request(`${base}/metrics`, { dispatcher: new Agent({ pipelining: 0 }) });
  const text = await res.body.text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}${labels}`) && !line.startsWith('#'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

async function healthz(base: string): Promise<number> {
  const agent = new Agent({ pipelining: 0, connect: { timeout: 3_000 } });
  try {
    const res = await request(`${base}/healthz`, {
      dispatcher: agent,
      headersTimeout: 3_000,
      bodyTimeout: 3_000,
    });
    await res.body.text();
    return res.statusCode;
  } finally {
    await agent.close();
  }
}

describe('descriptor exhaustion (issue 12)', function () {
  this.timeout(60_000);
  let registry: string;
  let controller: Serve | undefined;
  let greedy: GreedyClient | undefined;

  before(async function () {
    registry = await mkdtemp(path.join(tmpdir(), 'mcpfleet-fd-'));
    await writeFile(path.join(registry, 'none.json'), '[]'); // compiled specs: no servers
  });
  after(async function () {
    await rm(registry, { recursive: true, force: true });
  });
  afterEach(async function () {
    greedy?.close();
    await controller?.stop();
    controller = undefined;
  });

  it(`keeps /healthz answering with more idle sockets than ulimit -n ${DESCRIPTORS}`, async function () {
    controller = await serve(registry);
    greedy = new GreedyClient({ port: controller.port });
    await greedy.idle(DESCRIPTORS + 150);
    assert.equal(await healthz(controller.base), 200);
    // The default cap: (256 - 128) / 2 = 64 connections, the oldest idle ones closed for room.
    assert.ok((await metric(controller.base, 'mcpfleet_http_connections')) <= 64);
    assert.ok(
      (await metric(
        controller.base,
        'mcpfleet_connection_limit_events_total',
        '{event="evicted"}',
      )) >=
        DESCRIPTORS + 150 - 64,
    );
  });

  it('takes the cap, reserve and header deadline from its flags', async function () {
    controller = await serve(
      registry,
      '--max-connections',
      '8',
      '--probe-reserve',
      '2',
      '--headers-timeout',
      '500ms',
    );
    greedy = new GreedyClient({ port: controller.port });
    const idle = await greedy.idle(20);
    // 12 make room for newer ones, the last 8 (at least) are closed at the header deadline.
    await Promise.all(idle.map((s) => s.closedByServer));
    assert.ok(idle.filter((s) => s.status() === 408).length >= 8);
    assert.ok(idle.filter((s) => s.status() === undefined).length <= 12);
    assert.equal(await healthz(controller.base), 200);
  });

  it('refuses a probe reserve as large as the cap, before starting', async function () {
    const child = spawn(
      process.execPath,
      [BIN, 'serve', '--max-connections', '4', '--probe-reserve', '4'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(code, 1);
    assert.match(
      err,
      /^mcpfleet serve: the probe reserve must be a whole number from 0 to max connections - 1 \(3\); got 4/,
    );
  });
});
