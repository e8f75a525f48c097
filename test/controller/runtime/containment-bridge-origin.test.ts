// The stdio bridge's own port checks Host and Origin as the gateway does (OriginPolicy): a
// page on a foreign site that reaches it through DNS rebinding — `Host: evil.example`, or an
// `Origin` that is not loopback nor allowed — gets 403 with a JSON-RPC error, before any
// process starts; loopback names, and those an operator allows, still work. In process
// (startStdioBridge) and as `mcpfleet bridge`, the command that runs in server pods.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { startStdioBridge, type StdioBridge } from '../../../controller/bridge/stdio-bridge.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { freePort } from '../support/free-port.ts';
import { initializeBody } from '../support/mcp-messages.ts';
import { HOSTILE_SERVER, waitFor } from '../support/processes.ts';

const BIN = fileURLToPath(new URL('../../../controller/cli/bin.js', import.meta.url));

interface Answer {
  status: number;
  body: string;
}

/** An initialize POST to 127.0.0.1:`port` with exactly these Host and Origin headers. */
function initialize(port: number, host: string, origin?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/mcp',
        method: 'POST',
        headers: {
          host,
          ...(origin ? { origin } : {}),
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.once('error', reject);
    req.end(initializeBody());
  });
}

function assertForbidden(answer: Answer, reason: RegExp): void {
  assert.equal(answer.status, 403, answer.body);
  const body = JSON.parse(answer.body) as {
    jsonrpc: string;
    error: { code: number; message: string };
  };
  assert.equal(body.jsonrpc, '2.0');
  assert.equal(body.error.code, -32000);
  assert.match(body.error.message, reason);
}

describe('containment: the stdio bridge checks Host and Origin', function () {
  this.timeout(30_000);
  let bridge: StdioBridge;

  before(async () => {
    bridge = await startStdioBridge({
      command: { command: process.execPath, args: [HOSTILE_SERVER] },
      logger: silentLogger(),
      warmSpares: 0,
    });
  });
  after(() => bridge?.close());

  it('refuses a foreign Host with 403 and a JSON-RPC error, starting nothing', async () => {
    assertForbidden(
      await initialize(bridge.port, `evil.example:${bridge.port}`),
      /Host "evil\.example:\d+" is not allowed/,
    );
    assert.equal(bridge.childCount(), 0);
  });

  it('refuses a foreign Origin on a loopback Host', async () => {
    assertForbidden(
      await initialize(bridge.port, `127.0.0.1:${bridge.port}`, 'http://evil.example'),
      /Origin "http:\/\/evil\.example" is not allowed/,
    );
    assert.equal(bridge.childCount(), 0);
  });

  it('serves a loopback Host, with or without a loopback Origin', async () => {
    for (const origin of [undefined, 'http://localhost:6274']) {
      const answer = await initialize(bridge.port, `localhost:${bridge.port}`, origin);
      assert.equal(answer.status, 200, answer.body);
      assert.match(answer.body, /"serverInfo":\{"name":"hostile"/);
    }
  });

  it('`mcpfleet bridge --allowed-hosts --allowed-origins` accepts those, and only those', async () => {
    const port = await freePort();
    const cli = spawn(
      process.execPath,
      [
        BIN,
        'bridge',
        '--port',
        String(port),
        '--allowed-hosts',
        'mcp.internal',
        '--allowed-origins',
        'https://app.example',
        '--',
        process.execPath,
        HOSTILE_SERVER,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MCPFLEET_LOG_LEVEL: 'info' } },
    );
    try {
      let out = '';
      cli.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await waitFor(() => out.includes('stdio bridge listening'), 15_000, 'the bridge to listen');
      const allowed = await initialize(port, `mcp.internal:${port}`, 'https://app.example');
      assert.equal(allowed.status, 200, allowed.body);
      assertForbidden(
        await initialize(port, `mcp.internal:${port}`, 'https://other.example'),
        /Origin "https:\/\/other\.example" is not allowed/,
      );
      assertForbidden(await initialize(port, `other.internal:${port}`), /Host "other\.internal/);
    } finally {
      cli.kill('SIGTERM');
      await new Promise((resolve) => cli.once('exit', resolve));
    }
  });
});
