// What a person sees of a real controller (startController in-process, the stdio and HTTP
// fixtures as its servers, its log printed pretty): each line of a server's processes labelled
// with its slug; `mcpfleet logs` with them; and the commands that run until Ctrl-C — logs
// --follow, events --follow, status --watch — run as the real executable, interrupted by
// SIGINT (or by a Ctrl-C typed on a terminal), ending with exit 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { request } from 'undici';
import { createLogger } from '../../../controller/observability/log.ts';
import { ServerLogs } from '../../../controller/observability/server-logs.ts';
import { startController, type RunningController } from '../../../controller/start.ts';
import { waitFor } from '../coord/wait-for.ts';
import { httpFixture, stdioFixture } from '../fleet/specs.ts';
import { runCli } from './run-cli.ts';
import { spawnCli } from './spawn-cli.ts';

const BIN = fileURLToPath(new URL('../../../controller/cli/bin.js', import.meta.url));

describe('what a person sees of a running controller', function () {
  this.timeout(60_000);
  let controller: RunningController;
  /** Everything the controller logged, as pino-pretty printed it. */
  let printed = '';

  before(async function () {
    const serverLogs = new ServerLogs();
    const terminal = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        printed += chunk.toString();
        callback();
      },
    });
    controller = await startController({
      specs: [stdioFixture('fix', 'normal'), httpFixture('fixhttp', 'normal')],
      port: 0,
      dataDir: 'memory://',
      logger: createLogger({ level: 'info', format: 'pretty', destination: terminal, serverLogs }),
      serverLogs,
    });
    await controller.fleet.wake('fix');
    await controller.fleet.wake('fixhttp');
  });
  after(async function () {
    await controller?.close();
  });

  it("prints each line of a server's processes labelled with its slug", async function () {
    // stdio: the child's stderr (its stdout is the protocol); HTTP: its stdout and stderr.
    await waitFor(
      () => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[fix\] noise: got \d+ bytes$/m.test(printed),
      {
        what: `a labelled stderr line of fix in:\n${printed}`,
      },
    );
    await waitFor(
      () =>
        /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[fixhttp\] http fixture listening on port \d+$/m.test(
          printed,
        ),
      { what: `a labelled stdout line of fixhttp in:\n${printed}` },
    );
    // The controller's own lines about a server carry the label too, with their few fields.
    assert.match(
      printed,
      /^\[[\d:.]+\] INFO: \[fix\] ready in \d+ms \{"event":"wake","durationMs":[\d.]+\}$/m,
    );
    // Lines about no server are the message alone; no JSON record is left on the terminal.
    assert.match(printed, /^\[[\d:.]+\] INFO: fleet started \{"servers":2\}$/m);
    assert.doesNotMatch(printed, /^\{"level"/m);
    assert.doesNotMatch(printed, /"service":|"pid":|"replica":/);
  });

  it("`logs <slug>` shows that server's process output and the controller's lines about it", async function () {
    await waitFor(
      async () => {
        const { stdout } = await runCli('logs', 'fixhttp', '--url', controller.url);
        return /^\S+Z {2}stdout {2}http fixture listening on port \d+$/m.test(stdout);
      },
      { what: 'the HTTP fixture stdout line in `mcpfleet logs fixhttp`' },
    );
    const { code, stdout, stderr } = await runCli('logs', 'fix', '--url', controller.url);
    assert.equal(code, 0, stderr);
    assert.match(
      stdout,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z {2}stderr {2}noise: got \d+ bytes$/m,
    );
    assert.match(stdout, /^\S+Z {2}info {4}ready in \d+ms event=wake durationMs=[\d.]+$/m);
    assert.doesNotMatch(stdout, /http fixture/); // another server's lines stay there
    const times = stdout
      .trimEnd()
      .split('\n')
      .map((line) => line.slice(0, 24));
    assert.deepEqual(times, [...times].sort(), 'oldest first');

    const json = await runCli('logs', 'fix', '--lines', '1', '--json', '--url', controller.url);
    const { lines } = JSON.parse(json.stdout) as { lines: unknown[] };
    assert.equal(lines.length, 1);
  });

  it('answers 404 for the logs of an unknown server, following or not, and 400 for bad lines', async function () {
    for (const query of ['', '?follow=true']) {
      const response = await request(`${controller.url}/api/v1/servers/nope/logs${query}`);
      assert.equal(response.statusCode, 404);
      assert.deepEqual(await response.body.json(), {
        error: { code: 'unknown-server', message: 'Unknown server "nope"' },
      });
    }
    const { code, stderr } = await runCli('logs', 'nope', '--url', controller.url);
    assert.equal(code, 1);
    assert.equal(stderr, 'mcpfleet: Unknown server "nope"\n');
    for (const query of ['lines=0', 'lines=1001', 'lines=many', 'follow=yes', 'tail=5']) {
      const response = await request(`${controller.url}/api/v1/servers/fix/logs?${query}`);
      assert.equal(response.statusCode, 400, query);
      const body = (await response.body.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'bad-query');
    }
  });

  it('`logs --follow` prints the tail, then a line the server writes after it started; Ctrl-C exits 0', async function () {
    const cli = spawnCli('logs', 'fix', '--follow', '--url', controller.url);
    try {
      await cli.waitForOutput(/stderr {2}noise: got \d+ bytes\n/); // the tail: it is connected
      const marker = `marker-${randomBytes(4).toString('hex')}`;
      assert.doesNotMatch(cli.stdout(), new RegExp(marker));
      // The fixture says `cancelled <id>` on stderr when a request is cancelled.
      const client = new Client({ name: 'follow-test', version: '1.0.0' });
      const transport = new StreamableHTTPClientTransport(
        new URL(`${controller.url}/servers/fix/mcp`),
      );
      await client.connect(transport);
      try {
        await client.notification({
          method: 'notifications/cancelled',
          params: { requestId: marker },
        });
        await cli.waitForOutput(new RegExp(`^\\S+Z {2}stderr {2}cancelled ${marker}$`, 'm'));
      } finally {
        await transport.terminateSession().catch(() => undefined);
        await client.close();
      }
    } finally {
      assert.equal(await cli.interrupt(), 0, cli.stderr());
    }
    assert.equal(cli.stderr(), '');
  });

  it('`logs --follow | head` ends quietly, exit 0, when its reader goes away', async function () {
    const cli = spawnCli('logs', 'fix', '--follow', '--url', controller.url);
    await cli.waitForOutput(/\n/);
    cli.child.stdout!.destroy(); // head read what it wanted
    controller.serverLogs.add('fix', {
      time: new Date().toISOString(),
      level: 'info',
      source: 'stderr',
      replica: null,
      message: 'a line nobody reads',
      fields: {},
    });
    assert.equal(await cli.exited, 0, cli.stderr());
    assert.equal(cli.stderr(), '');
  });

  it('`events --follow` prints a wake that happens after it started; Ctrl-C exits 0', async function () {
    await controller.fleet.sleep('fix');
    const wakes = await waitFor(
      async () => {
        const events = await controller.fleet.events({ server: 'fix', type: 'wake' });
        return events.length > 0 && events.length;
      },
      { what: 'the wake of fix recorded' },
    );
    const cli = spawnCli('events', 'fix', '--type', 'wake', '--follow', '--url', controller.url);
    const rows = (): string[] => cli.stdout().match(/^\S+Z\s+fix\s+wake\s+.*$/gm) ?? [];
    try {
      await cli.waitForOutput(/^TIME\s+SERVER\s+TYPE\s+DURATION\s+MESSAGE\n/);
      // The tail, read when it connected: the wakes so far.
      await cli.waitForOutput(new RegExp(`(^\\S+Z\\s+fix\\s+wake\\s+.*\\n){${wakes}}`, 'm'));
      await controller.fleet.wake('fix');
      await cli.waitForOutput(new RegExp(`(^\\S+Z\\s+fix\\s+wake\\s+.*\\n){${wakes + 1}}`, 'm'));
      assert.equal(rows().length, wakes + 1);
      assert.match(rows().at(-1)!, /\d+ms\s+/); // its duration
    } finally {
      assert.equal(await cli.interrupt(), 0, cli.stderr());
    }
    assert.equal(cli.stderr(), '');
  });

  it('`status --watch` prints a snapshot every --interval, each under its time when piped; Ctrl-C exits 0', async function () {
    const cli = spawnCli('status', '--watch', '--interval', '100ms', '--url', controller.url);
    try {
      await cli.waitForOutput(/^fixhttp\s+ready\s/m);
      // A change shows in a later snapshot: the screen is read anew each time.
      await controller.fleet.sleep('fixhttp');
      await cli.waitForOutput(/^fixhttp\s+asleep\s/m);
      const [before, ...snapshots] = cli
        .stdout()
        .split(/^--- \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ---\n/m);
      assert.equal(before, '');
      assert.ok(snapshots.length >= 2, cli.stdout());
      for (const snapshot of snapshots) assert.match(snapshot, /^SLUG\s+STATE.*\nfix\s+/, snapshot);
      assert.ok(!cli.stdout().includes('\x1b['), 'piped: no escape codes');
    } finally {
      assert.equal(await cli.interrupt(), 0, cli.stderr());
    }
    assert.equal(cli.stderr(), '');
  });

  it('`status --watch` on a terminal clears the screen for each snapshot, and a typed Ctrl-C exits 0', async function () {
    // script(1) runs it on a pseudo-terminal; the ^C written to that terminal is turned into
    // SIGINT for it by the terminal itself, as when a person types it. `exec`, so no shell sits
    // between: script runs `$SHELL -c`, and dash (CI has no $SHELL) dies of that SIGINT itself.
    const command = ['exec', process.execPath, BIN, 'status', '--watch', '--interval', '100ms']
      .concat(['--url', controller.url])
      .map((arg, index) => (index === 0 ? arg : `'${arg}'`))
      .join(' ');
    const terminal = spawn('script', ['-qefc', command, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    terminal.stdout.setEncoding('utf8').on('data', (chunk: string) => (screen += chunk));
    const exited = new Promise<number | null>((resolve) => terminal.once('close', resolve));
    const clears = (): number => screen.split('\x1b[H\x1b[2J').length - 1;
    try {
      await waitFor(() => clears() >= 2, { timeoutMs: 15_000, what: 'two cleared snapshots' });
      assert.match(screen, /Every 100ms: mcpfleet status {4}\S+Z\r?\n\r?\nSLUG\s+STATE/);
    } finally {
      terminal.stdin.write('\x03');
    }
    assert.equal(await exited, 0, screen);
  });
});
