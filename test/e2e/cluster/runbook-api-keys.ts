// The runbook "issuing and rotating API keys", tried on the rendered platform with an admin key
// in MCPFLEET_TOKEN (the first one, made in the pod as first-deployment.md says): a key is
// created and works, listed, rotated (the new one used, then the old one revoked and refused),
// a revoked key's name taken again, a key revoked by its id and refused at once by this
// replica, and a viewer's wake refused with the one line the page quotes.
import assert from 'node:assert/strict';
import type { RunbookShell, ShellResult } from './runbook-shell.ts';
import type { RunbookContext, Step } from './runbooks-tried.ts';

/** The table's cells: two spaces or more apart ("just now" is one cell). */
function keyRow(stdout: string, name: string): Record<string, string> {
  const [header, ...rows] = stdout.trimEnd().split('\n');
  const columns = header!.split(/ {2,}/);
  const row = rows.map((r) => r.split(/ {2,}/)).find((cells) => cells[0] === name);
  assert.ok(row, `no key ${name} in:\n${stdout}`);
  return Object.fromEntries(columns.map((c, i) => [c, row[i] ?? '']));
}

/** `keys create`: the key alone on stdout, its note (with the id) on stderr. */
function created(shell: RunbookShell, name: string, result: ShellResult): void {
  const key = result.stdout.trim();
  assert.match(key, /^mcpf_[0-9a-f]+_\S+$/, 'the key alone on stdout');
  const id = new RegExp(`^Key "${name}" \\(id ([0-9a-f]+), `).exec(result.stderr)?.[1];
  assert.ok(id, result.stderr);
  shell.vars.set(`${name}-key`, key);
  shell.vars.set(`${name}-id`, id);
}

export function issueAndRotateApiKeys(ctx: RunbookContext, shell: RunbookShell): Step[] {
  const statusWith = async (key: string) =>
    (await ctx.controller.getJson('/api/v1/servers/everything', key)).status;
  const httpCode = (expected: number) => (result: ShellResult) =>
    assert.equal(result.stdout.trim(), String(expected));
  const revoked = (name: string) => (result: ShellResult) =>
    assert.match(result.stdout, new RegExp(`^Key "${name}" \\(id [0-9a-f]+\\) revoked\\.$`, 'm'));
  return [
    {
      command:
        'npx mcpfleet keys create --name ci-bot --role operator --servers everything,memory --expires 90d',
      check: (result) => {
        created(shell, 'ci-bot', result);
        assert.match(result.stderr, /\(id [0-9a-f]+, operator, expires \S+\) created/);
        shell.vars.set('key', shell.vars.get('ci-bot-key')!);
      },
    },
    {
      command: `curl -s -o /dev/null -w '%{http_code}\\n' -H "authorization: Bearer <key>" "$MCPFLEET_URL/api/v1/servers/everything"`,
      check: httpCode(200),
    },
    {
      command: 'npx mcpfleet keys list',
      check: ({ stdout }) => {
        assert.doesNotMatch(stdout, /mcpf_/, 'never a secret');
        const bot = keyRow(stdout, 'ci-bot');
        assert.equal(bot.ROLE, 'operator');
        assert.equal(bot.SERVERS, 'everything,memory');
        assert.equal(bot.REVOKED, '-');
        assert.equal(keyRow(stdout, 'first-admin').ROLE, 'admin');
        assert.equal(keyRow(stdout, 'first-admin').SERVERS, '*');
      },
    },
    {
      command:
        'npx mcpfleet keys create --name ci-bot-2026-12 --role operator --servers everything,memory --expires 90d',
      check: (result) => created(shell, 'ci-bot-2026-12', result),
    },
    {
      command: 'npx mcpfleet keys list',
      // "Put the new key where the old one was": the job runs with it.
      before: async () => {
        assert.equal(await statusWith(shell.vars.get('ci-bot-2026-12-key')!), 200);
      },
      eventually: true, // the last-used time is written beside the request, not before its answer
      check: ({ stdout }) => assert.notEqual(keyRow(stdout, 'ci-bot-2026-12')['LAST-USED'], '-'),
    },
    {
      command: 'npx mcpfleet keys revoke ci-bot',
      check: async (result) => {
        revoked('ci-bot')(result);
        assert.equal(await statusWith(shell.vars.get('ci-bot-key')!), 401, 'the old key: refused');
        assert.equal(await statusWith(shell.vars.get('ci-bot-2026-12-key')!), 200, 'the new one');
      },
    },
    {
      command:
        'npx mcpfleet keys revoke ci-bot            # the name of a key that is not revoked yet',
      // A revoked key's name can be used again: a new ci-bot, through the API.
      before: async () => {
        const response = await fetch(`${ctx.controller.url}/api/v1/keys`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${ctx.controller.token}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ name: 'ci-bot', role: 'viewer' }),
        });
        assert.equal(response.status, 201, await response.text());
      },
      check: revoked('ci-bot'),
    },
    {
      command: 'npx mcpfleet keys revoke <id>              # or its id, e.g. 3f9c2a7b1d0e4c55',
      before: async () => {
        shell.vars.set('id', shell.vars.get('ci-bot-2026-12-id')!);
        shell.vars.set('key', shell.vars.get('ci-bot-2026-12-key')!);
      },
      check: revoked('ci-bot-2026-12'),
    },
    {
      command: `curl -s -o /dev/null -w '%{http_code}\\n' -H "authorization: Bearer <key>" "$MCPFLEET_URL/api/v1/servers/everything"`,
      check: httpCode(401),
    },
    {
      command: 'npx mcpfleet keys create --name reader --role viewer --expires 1d',
      check: (result) => created(shell, 'reader', result),
    },
    {
      command: 'MCPFLEET_TOKEN=<reader-key> npx mcpfleet wake everything',
      exit: 1,
      check: ({ stderr }) =>
        assert.equal(
          stderr.trim(),
          'mcpfleet: This needs the operator role; key "reader" has viewer: set MCPFLEET_TOKEN or --token to a credential that may',
        ),
    },
  ];
}
