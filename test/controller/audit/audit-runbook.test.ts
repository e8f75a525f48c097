// The runbook "who called what: reading the audit log" (docs/runbooks/who-called-what.md),
// tried as written: every command of its `sh runbook` blocks runs in page order through an
// operator's /bin/sh (test/e2e/cluster/runbook-shell.ts: `npx mcpfleet` is this checkout's CLI,
// MCPFLEET_URL and MCPFLEET_TOKEN set as the page says), against a real controller on
// PostgreSQL after real traffic: an operator key's wake and tools/call, a viewer's refused wake,
// keys created. Each command has its check of what the page says it shows; the list of steps
// must be the page's list of commands, so the page and what was tried cannot drift apart.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { silentLogger } from '../../../controller/observability/log.ts';
import { runCli } from '../cli/run-cli.ts';
import { stdioFixture } from '../fleet/specs.ts';
import { startKeyedController, type KeyedController } from '../auth/keyed-controller.ts';
import { RunbookShell } from '../../e2e/cluster/runbook-shell.ts';
import { itTriesThePage, type RunbookStep } from '../../e2e/cluster/runbook-tried-as-written.ts';
import { waitForAudit } from './audit-reads.ts';

const PAGE = 'who-called-what.md';
const SECRET = 'a-key-hashing-secret-for-the-runbook-test-0123456789';
const REQUEST_ID = 'runbook-call-0001';

const rows = (stdout: string) => stdout.trimEnd().split('\n').slice(1);

describe(`runbook ${PAGE}, tried as written`, function () {
  this.timeout(120_000);
  let keyed: KeyedController;
  let shell: RunbookShell;
  let operatorId = '';

  before(async function () {
    keyed = await startKeyedController(
      `mcpfleet_audit_runbook_${randomUUID().replaceAll('-', '').slice(0, 10)}`,
      SECRET,
      { specs: [stdioFixture('fix', 'normal')], audit: { flushMs: 50 }, logger: silentLogger() },
    );
    const url = keyed.controller.url;
    const asAdmin = (...args: string[]) =>
      runCli(...args, '--url', url, '--token', keyed.admin.key, '--json');
    const operator = JSON.parse(
      (await asAdmin('keys', 'create', '--name', 'ci-bot', '--role', 'operator')).stdout,
    ) as { key: string; id: string };
    operatorId = operator.id;
    const viewer = JSON.parse(
      (await asAdmin('keys', 'create', '--name', 'dash', '--role', 'viewer')).stdout,
    ) as { key: string };
    assert.equal((await runCli('wake', 'fix', '--url', url, '--token', operator.key)).code, 0);
    assert.equal((await runCli('wake', 'fix', '--url', url, '--token', viewer.key)).code, 1);
    const client = new Client({ name: 'runbook', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${url}/servers/fix/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${operator.key}` } },
      }),
    );
    await client.callTool({ name: 'echo', arguments: { text: 'a' } });
    await client.close();
    // One call with a request id of the client's own, for the page's "from a request id" step.
    const session = await fetch(`${url}/servers/fix/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${operator.key}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'x-request-id': REQUEST_ID,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'echo', arguments: { text: 'b' } },
      }),
    });
    await session.text();
    await waitForAudit(url, { action: 'tools/call' }, 2, operator.key);

    // The operator's shell, as the page sets it up (no kubectl: the page needs none).
    shell = new RunbookShell({
      kubectl: '/bin/false',
      kubeconfig: '/dev/null',
      mcpfleetUrl: url,
      token: operator.key,
    });
    shell.vars.set('slug', 'fix');
    shell.vars.set('key-name', 'ci-bot');
    shell.vars.set('request-id', REQUEST_ID);
  });
  after(async function () {
    await keyed?.close();
  });

  const steps = (): RunbookStep[] => [
    {
      command: 'npx mcpfleet audit --since 1h',
      check: ({ stdout }) => {
        assert.match(stdout, /^TIME\s+PRINCIPAL\s+ACTION\s+SERVER\s+TOOL\/TARGET\s+DECISION/);
        // Two calls, two wakes (one refused), two keys created.
        assert.equal(rows(stdout.split('\n\n')[0]!).length, 6, stdout);
      },
    },
    {
      command: 'npx mcpfleet audit --server <slug> --since 1d',
      check: ({ stdout }) => {
        const actions = rows(stdout.split('\n\n')[0]!).map((row) => row.split(/\s{2,}/)[2]);
        assert.deepEqual(actions, ['tools/call', 'tools/call', 'wake', 'wake']);
      },
    },
    {
      command: 'npx mcpfleet audit --principal <key-name> --since 7d',
      check: ({ stdout }) => {
        const found = rows(stdout);
        assert.equal(found.length, 3, stdout);
        for (const row of found) assert.match(row, new RegExp(`ci-bot \\(key:${operatorId}\\)`));
      },
    },
    {
      command: 'npx mcpfleet audit --action wake --since 1d',
      check: ({ stdout }) => {
        assert.match(stdout, /dash \(key:[0-9a-f]{16}\)\s+wake\s+fix\s+-\s+denied\s+403/);
        assert.match(stdout, /: This needs the operator role; key "dash" has viewer\n$/);
      },
    },
    {
      command: 'npx mcpfleet audit --action keys.create --since 30d',
      check: ({ stdout }) => {
        const found = rows(stdout);
        assert.equal(found.length, 2);
        assert.match(
          found[1]!,
          new RegExp(`first-admin .*keys\\.create\\s+-\\s+${operatorId}\\s+allowed\\s+201`),
        );
      },
    },
    {
      command: `npx mcpfleet audit --since 1d --json | grep -B 14 -A 1 '"requestId": "<request-id>"'`,
      check: ({ stdout }) => {
        const record = JSON.parse(stdout.trim().replace(/,$/, '')) as Record<string, unknown>;
        assert.equal(record.requestId, REQUEST_ID);
        assert.equal(record.tool, 'echo');
        assert.equal(record.principalName, 'ci-bot');
      },
    },
    {
      command: `curl -s -H "Authorization: Bearer $MCPFLEET_TOKEN" "$MCPFLEET_URL/api/v1/audit?server=<slug>&limit=2"`,
      check: ({ stdout }) => {
        const page = JSON.parse(stdout) as { records: unknown[]; next: string | null };
        assert.equal(page.records.length, 2);
        assert.equal(typeof page.next, 'string');
      },
    },
  ];

  itTriesThePage(PAGE, steps, () => shell);
});
