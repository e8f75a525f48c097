// The runbook "connect mcpfleet to your identity provider"
// (docs/runbooks/connect-your-identity-provider.md), tried as written: every command of its
// `sh runbook` blocks runs in page order through an operator's /bin/sh
// (test/e2e/cluster/runbook-shell.ts), with the variables the page tells the reader to set —
// MCPFLEET_URL, ISSUER, SERVER, CLIENT_ID, CLIENT_SECRET — set to a real controller (its public
// URL its own) whose issuer is a real OpenID provider (test/fixtures/oidc-provider.ts), serving
// server-everything, with a per-caller budget of one request so the page's 429 shows. The token
// endpoint comes from the provider's metadata, as the page gets it. Each command has its check
// of what the page says it shows; the list of steps must be the page's list of commands, so the
// page and what was tried cannot drift apart.
import assert from 'node:assert/strict';
import type { TestClient } from '../../fixtures/oidc-provider.ts';
import { RunbookShell } from '../../e2e/cluster/runbook-shell.ts';
import { itTriesThePage, type RunbookStep } from '../../e2e/cluster/runbook-tried-as-written.ts';
import { freePort } from '../support/free-port.ts';
import { startOAuthController, type OAuthController } from './oauth-controller.ts';

const PAGE = 'connect-your-identity-provider.md';
const SERVER = 'everything';
const CLIENT: TestClient = { id: 'ci-bot', secret: 'ci-bot-secret', groups: ['sre'] };

// The pieces the page's curl commands share, as the page writes them.
const ENDPOINT = '"$MCPFLEET_URL/servers/$SERVER/mcp"';
const HEADERS = `-H 'content-type: application/json' -H 'accept: application/json, text/event-stream'`;
const PING = `-d '{"jsonrpc":"2.0","id":1,"method":"ping"}'`;
const INITIALIZE = `-d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'`;
const CLAIMS = `jq -R 'split(".")[1] | gsub("-";"+") | gsub("_";"/") | @base64d | fromjson | {iss, aud, exp, scope, groups}'`;

describe(`runbook ${PAGE}, tried as written`, function () {
  this.timeout(120_000);
  let running: OAuthController;
  let shell: RunbookShell;
  let base = '';
  let resource = '';

  before(async function () {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    resource = `${base}/servers/${SERVER}/mcp`;
    running = await startOAuthController([CLIENT], {
      start: {
        port,
        publicUrl: base,
        // One request an hour per caller: the page's initialize spends it, its ping gets 429.
        rateLimits: { perPrincipal: { points: 1, windowSeconds: 3600, burst: 0 }, perServer: null },
      },
    });
    shell = new RunbookShell({
      kubectl: '/bin/false',
      kubeconfig: '/dev/null',
      mcpfleetUrl: running.controller.url,
      token: '',
    });
    // "Set these first, to your values".
    shell.setVariable('MCPFLEET_URL', base);
    shell.setVariable('ISSUER', running.idp.issuer);
    shell.setVariable('SERVER', SERVER);
    shell.setVariable('CLIENT_ID', CLIENT.id);
    shell.setVariable('CLIENT_SECRET', CLIENT.secret!);
  });
  after(async function () {
    await running?.close();
  });

  const steps = (): RunbookStep[] => [
    {
      command: 'curl -s "$MCPFLEET_URL/.well-known/oauth-protected-resource/servers/$SERVER/mcp"',
      check: ({ stdout }) => {
        const metadata = JSON.parse(stdout) as Record<string, unknown>;
        assert.equal(metadata.resource, resource);
        assert.deepEqual(metadata.authorization_servers, [running.idp.issuer]);
        assert.deepEqual(metadata.scopes_supported, ['mcp']);
        assert.deepEqual(metadata.bearer_methods_supported, ['header']);
      },
    },
    {
      command: `curl -si -X POST ${ENDPOINT} ${HEADERS} ${PING} | grep -i www-authenticate`,
      check: ({ stdout }) =>
        assert.equal(
          stdout.trimEnd(),
          `www-authenticate: Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/servers/${SERVER}/mcp", scope="mcp"`,
        ),
    },
    {
      command: `TOKEN_ENDPOINT=$(curl -s "$ISSUER/.well-known/openid-configuration" | jq -r .token_endpoint)`,
      check: () => assert.equal(shell.variable('TOKEN_ENDPOINT'), `${running.idp.issuer}/token`),
    },
    {
      command: `TOKEN=$(curl -s "$TOKEN_ENDPOINT" -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials -d scope=mcp --data-urlencode "resource=$MCPFLEET_URL/servers/$SERVER/mcp" | jq -r .access_token)`,
      check: () => assert.match(shell.variable('TOKEN') ?? '', /^[\w-]+\.[\w-]+\.[\w-]+$/),
    },
    {
      command: `echo "$TOKEN" | ${CLAIMS}`,
      check: ({ stdout }) => {
        const claims = JSON.parse(stdout) as Record<string, unknown>;
        assert.equal(claims.iss, running.idp.issuer);
        assert.equal(claims.aud, resource);
        assert.equal(typeof claims.exp, 'number');
        assert.equal(claims.scope, 'mcp');
        assert.deepEqual(claims.groups, CLIENT.groups);
      },
    },
    {
      command: `curl -s -X POST ${ENDPOINT} -H "authorization: Bearer $TOKEN" ${HEADERS} ${INITIALIZE}`,
      check: ({ stdout }) => {
        const reply = JSON.parse(stdout) as { id: number; result?: Record<string, unknown> };
        assert.equal(reply.id, 1);
        assert.equal(reply.result?.protocolVersion, '2025-06-18');
        assert.equal((reply.result?.serverInfo as { name: string }).name, 'mcp-servers/everything');
      },
    },
    {
      command: `curl -si -X POST ${ENDPOINT} -H "authorization: Bearer $TOKEN" ${HEADERS} ${PING}`,
      check: ({ stdout }) => {
        assert.match(stdout, /^HTTP\/1\.1 429 Too Many Requests\r\n/);
        const retryAfter = Number(/^retry-after: (\d+)\r$/im.exec(stdout)?.[1]);
        assert.ok(retryAfter >= 1, stdout);
        const reply = JSON.parse(stdout.slice(stdout.indexOf('\r\n\r\n'))) as {
          id: null;
          error: { code: number; message: string; data: Record<string, unknown> };
        };
        assert.equal(reply.id, null);
        assert.equal(reply.error.code, -32000);
        assert.match(reply.error.message, /^Rate limited: this caller is over 1\/3600s; retry in/);
        assert.deepEqual(reply.error.data, {
          reason: 'rate-limited',
          scope: 'principal',
          limit: '1/3600s',
          retryAfterSeconds: retryAfter,
        });
      },
    },
  ];

  itTriesThePage(PAGE, steps, () => shell);
});
