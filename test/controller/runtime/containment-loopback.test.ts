// HTTP servers on this machine listen on loopback only, on the port the runtime chose. The
// hostile server binds to BIND_ADDRESS (every interface when unset, as many servers do):
// declared as its bind-address variable (its transport URL's host, http://{BIND_ADDRESS}:…),
// the runtime sets it to 127.0.0.1 and the kernel shows nothing listening beyond loopback —
// a connection to this machine's other address is refused. Undeclared, the server listens on
// every interface, and the replica, the API's server view and `mcpfleet status` say so.
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { networkInterfaces } from 'node:os';
import { PassThrough } from 'node:stream';
import { checkServerJson, type WorkloadSpec } from '../../../registry/catalog/index.ts';
import { McpProbe } from '../../../controller/health/mcp-probe.ts';
import { createLogger, silentLogger } from '../../../controller/observability/log.ts';
import { LocalRuntime } from '../../../controller/runtime/local.ts';
import { listeningSockets } from '../../../controller/runtime/listening-sockets.ts';
import type { Replica } from '../../../controller/runtime/runtime.ts';
import { startController } from '../../../controller/start.ts';
import { runCli } from '../cli/run-cli.ts';
import { initializeBody } from '../support/mcp-messages.ts';
import { waitFor } from '../support/processes.ts';
import { hostileHttp, hostilePids, pidFilePath } from './hostile-processes.ts';

/** An address of this machine that is not loopback, if it has one. */
function externalAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && !i.internal && i.family === 'IPv4')?.address;
}

/** Whether a TCP connection to `host`:`port` is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function portOf(replica: Replica): number {
  return Number(new URL(replica.url).port);
}

async function serving(replica: Replica): Promise<void> {
  const probe = new McpProbe(replica.url);
  await waitFor(async () => (await probe.check(2000)).ok, 15_000, 'the server to answer');
}

/** A server.json of one npm package on Streamable HTTP at `url`, compiled. */
function compileBound(url: string, packageArguments: unknown[] = []): WorkloadSpec {
  const result = checkServerJson(
    Buffer.from(
      JSON.stringify({
        $schema: 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json',
        name: 'io.github.example/bound',
        description: 'A server with a bind-address variable',
        version: '1.0.0',
        packages: [
          {
            registryType: 'npm',
            identifier: '@example/bound',
            version: '1.0.0',
            transport: { type: 'streamable-http', url },
            packageArguments,
          },
        ],
      }),
    ),
    'bound/server.json',
    'bound',
  );
  assert.deepEqual(result.problems, []);
  return result.spec as WorkloadSpec;
}

/** The hostile HTTP server with BIND_ADDRESS declared as its bind-address variable. */
function declaringBindAddress(slug: string, env: Record<string, string> = {}): WorkloadSpec {
  const spec = hostileHttp(slug, env);
  if (spec.transport.type === 'stdio') throw new Error('an HTTP spec');
  spec.transport.hostVariable = 'BIND_ADDRESS';
  return spec;
}

describe('containment: HTTP servers listen on loopback only', function () {
  this.timeout(120_000);
  const runtime = new LocalRuntime({ logger: silentLogger() });
  const external = externalAddress();

  it('compiles http://{BIND_ADDRESS}:{PORT}/mcp into a bind-address variable, 0.0.0.0 in a pod', () => {
    const spec = compileBound('http://{BIND_ADDRESS}:{PORT}/mcp');
    assert.deepEqual(spec.transport, {
      type: 'streamable-http',
      port: 8080,
      path: '/mcp',
      portVariable: 'PORT',
      hostVariable: 'BIND_ADDRESS',
    });
    assert.equal(spec.env.BIND_ADDRESS, '0.0.0.0', 'in a pod it listens on the pod address');
  });

  it('compiles a bind-address argument (--host {host}) with 0.0.0.0 as its value in a pod', () => {
    const spec = compileBound('http://{host}:{PORT}/mcp', [{ type: 'named', name: '--host' }]);
    assert.equal(spec.transport.type !== 'stdio' && spec.transport.hostVariable, 'host');
    assert.deepEqual(spec.args, ['--host', '0.0.0.0']);
    assert.equal(spec.env.host, undefined, 'an argument, not a variable');
  });

  it('sets a declared bind-address variable to loopback: nothing listens beyond it', async () => {
    const pidFile = pidFilePath();
    const replica = await runtime.start(
      declaringBindAddress('bound', { HOSTILE_PID_FILE: pidFile }),
    );
    try {
      await serving(replica);
      const port = portOf(replica);
      const [pid] = await hostilePids(pidFile);
      const sockets = listeningSockets([pid!]);
      assert.deepEqual(sockets, [{ address: '127.0.0.1', port }]);
      if (external) assert.equal(await accepts(external, port), false, `refused on ${external}`);
      assert.equal(replica.exposure?.(), undefined);
    } finally {
      await replica.stop();
    }
  });

  it('swaps a bind-address argument set for a pod (--host 0.0.0.0) for loopback', async () => {
    const pidFile = pidFilePath();
    const spec = hostileHttp('bound-by-argument', { HOSTILE_PID_FILE: pidFile });
    if (spec.transport.type === 'stdio' || !spec.local.runnable) throw new Error('an HTTP spec');
    spec.transport.hostVariable = 'host';
    spec.local.args.push('--host', '0.0.0.0');
    const replica = await runtime.start(spec);
    try {
      await serving(replica);
      const [pid] = await hostilePids(pidFile);
      assert.deepEqual(listeningSockets([pid!]), [{ address: '127.0.0.1', port: portOf(replica) }]);
      assert.equal(replica.exposure?.(), undefined);
    } finally {
      await replica.stop();
    }
  });

  it('says when a server declares no such variable and listens on every interface', async () => {
    const log = new PassThrough();
    let logged = '';
    log.on('data', (chunk: Buffer) => (logged += chunk.toString()));
    const logging = new LocalRuntime({ logger: createLogger({ level: 'warn', destination: log }) });
    const replica = await logging.start(hostileHttp('unbound', {}));
    try {
      await serving(replica);
      const port = portOf(replica);
      if (external) assert.equal(await accepts(external, port), true, 'reachable: a real gap');
      assert.match(
        replica.exposure?.() ?? '',
        new RegExp(
          `^not confined: listens on \\[::\\]:${port}, beyond loopback, it declares no bind-address variable`,
        ),
      );
      await waitFor(
        () => /"msg":"MCP server not confined: listens on \[::\]/.test(logged),
        10_000,
        'the warning',
      );
    } finally {
      await replica.stop();
    }
  });

  it('shows it in the API server view and in `mcpfleet status`', async () => {
    const controller = await startController({
      specs: [hostileHttp('unbound', {}), declaringBindAddress('bound')],
      port: 0,
      dataDir: 'memory://',
      logger: silentLogger(),
    });
    try {
      for (const slug of ['unbound', 'bound']) {
        const woke = await fetch(`${controller.url}/servers/${slug}/mcp`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          },
          body: initializeBody(),
        });
        assert.equal(woke.status, 200, await woke.text());
      }
      const view = async (slug: string) =>
        (await (await fetch(`${controller.url}/api/v1/servers/${slug}`)).json()) as {
          exposure?: string;
        };
      await waitFor(async () => (await view('unbound')).exposure !== undefined, 10_000, 'exposure');
      assert.match((await view('unbound')).exposure!, /^not confined: listens on \[::\]:\d+/);
      assert.equal((await view('bound')).exposure, undefined);
      const status = await runCli('status', '--url', controller.url);
      assert.equal(status.code, 0, status.stderr);
      assert.match(
        status.stdout,
        /^unbound: not confined: listens on \[::\]:\d+, beyond loopback/m,
      );
      assert.doesNotMatch(status.stdout, /^bound: /m);
      const detail = await runCli('status', 'unbound', '--url', controller.url);
      assert.match(detail.stdout, /^exposure: +not confined: listens on \[::\]:\d+/m);
    } finally {
      await controller.close();
    }
  });
});
