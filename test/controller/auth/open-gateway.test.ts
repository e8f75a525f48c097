// Defaults that cannot be left open by accident: a controller listening beyond loopback with
// no identity configured refuses to start (in-process and as `mcpfleet serve`), unless told
// --insecure-no-auth — then it starts, and says so in its log and in /readyz. And resource
// URLs come from the configured public URL, not from the Host a request names (so they are
// right behind a TLS-terminating proxy).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startController } from '../../../controller/start.ts';
import { createLogger, silentLogger } from '../../../controller/observability/log.ts';
import { startIdentityProvider } from '../../fixtures/oidc-provider.ts';
import { logRecorder } from '../support/log-recorder.ts';
import { initializeBody } from '../support/mcp-messages.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const EVERYTHING = path.join(ROOT, 'registry/servers');

function withoutAuthSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy.MCPFLEET_INSECURE_NO_AUTH;
  delete copy.MCPFLEET_AUTH_ISSUER;
  return copy;
}

describe('an open controller only on loopback, or on purpose', function () {
  this.timeout(60_000);

  it('refuses to start on 0.0.0.0 with no identity configured, naming the flags', async function () {
    await assert.rejects(
      startController({
        specs: [],
        host: '0.0.0.0',
        port: 0,
        dataDir: 'memory://',
        logger: silentLogger(),
      }),
      (err: Error) =>
        /beyond loopback/.test(err.message) &&
        err.message.includes('--auth-issuer') &&
        err.message.includes('--insecure-no-auth'),
    );
  });

  it('mcpfleet serve --host 0.0.0.0 exits 1 with that explanation', async function () {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'controller/cli/bin.js'), 'serve', '--host', '0.0.0.0', '--port', '0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: withoutAuthSettings(process.env),
      },
    );
    let stderr = '';
    // Were it to start after all, it must not outlive the test.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    assert.equal(code, 1);
    assert.match(
      stderr,
      /^mcpfleet serve: listening on 0\.0\.0\.0 \(beyond loopback\) with no identity configured/,
    );
  });

  it('starts with --insecure-no-auth, warning in the log and in /readyz', async function () {
    const log = logRecorder();
    const controller = await startController({
      specs: [],
      host: '0.0.0.0',
      port: 0,
      dataDir: 'memory://',
      logger: createLogger({ level: 'info', destination: log.stream }),
      auth: { insecureNoAuth: true },
    });
    try {
      assert.ok(
        log.records.some(
          (r) => r.level === 40 && r.msg.startsWith('--insecure-no-auth: listening on 0.0.0.0'),
        ),
      );
      const ready = await fetch(`http://127.0.0.1:${controller.port}/readyz`);
      assert.equal(ready.status, 200);
      const body = (await ready.json()) as {
        checks: Record<string, { ok: boolean; warning?: string }>;
      };
      assert.equal(body.checks.auth?.ok, true);
      assert.match(body.checks.auth?.warning ?? '', /nobody authenticated/);
    } finally {
      await controller.close();
    }
  });

  it('builds resource URLs from --public-url, whatever Host the request names', async function () {
    const idp = await startIdentityProvider([]);
    const controller = await startController({
      registryDir: EVERYTHING,
      port: 0,
      dataDir: 'memory://',
      logger: silentLogger(),
      publicUrl: 'https://mcp.example.com/',
      auth: { issuers: [idp.issuer] },
    });
    try {
      const local = `http://127.0.0.1:${controller.port}`;
      const doc = (await (
        await fetch(`${local}/.well-known/oauth-protected-resource/servers/everything/mcp`)
      ).json()) as {
        resource: string;
      };
      assert.equal(doc.resource, 'https://mcp.example.com/servers/everything/mcp');
      const refused = await fetch(`${local}/servers/everything/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: initializeBody(),
      });
      assert.equal(refused.status, 401);
      assert.equal(
        refused.headers.get('www-authenticate'),
        'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/servers/everything/mcp"',
      );
      await refused.body?.cancel();
    } finally {
      await controller.close();
      await idp.close();
    }
  });
});
