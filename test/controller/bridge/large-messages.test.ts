// Messages above the bridge's size limit, from a real child (the hostile fixture): an answer
// too large becomes a JSON-RPC error for its request, a notification too large is dropped,
// and the same child goes on serving the session.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { MESSAGE_TOO_LARGE } from '../../../controller/bridge/jsonrpc.ts';
import { startStdioBridge, type StdioBridge } from '../../../controller/bridge/stdio-bridge.ts';
import { silentLogger } from '../../../controller/observability/log.ts';
import { HOSTILE_SERVER } from '../support/processes.ts';

const LIMIT = 1024 * 1024;

describe('stdio bridge: messages above the size limit', function () {
  this.timeout(20_000);
  let bridge: StdioBridge;
  let client: Client;

  before(async () => {
    bridge = await startStdioBridge({
      command: { command: process.execPath, args: [HOSTILE_SERVER], env: {} },
      logger: silentLogger(),
      maxMessageBytes: LIMIT,
      warmSpares: 0, // one process: the session's
    });
    client = new Client({ name: 'large', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(bridge.url)));
  });
  after(async () => {
    await client?.close();
    await bridge?.close();
  });

  const call = (name: string, args: Record<string, unknown>) =>
    client.callTool({ name, arguments: args });

  it('answers a request whose answer is too large with a JSON-RPC error, and serves on', async () => {
    const pid = bridge.childPids();
    await assert.rejects(call('huge', { bytes: 3 * LIMIT }), (err: unknown) => {
      assert.ok(err instanceof McpError);
      assert.equal(err.code, MESSAGE_TOO_LARGE);
      assert.match(err.message, /larger than the bridge's limit of 1 MiB \(maxMessageBytes\)/);
      return true;
    });
    const fits = await call('huge', { bytes: LIMIT / 2 });
    assert.ok(JSON.stringify(fits).length > LIMIT / 2 - 200, 'a large answer within the limit');
    assert.deepEqual(bridge.childPids(), pid, 'the same child, still running');
  });

  it('drops a notification that is too large; the request it came with is answered', async () => {
    const result = await call('huge-notification', { bytes: 2 * LIMIT });
    assert.deepEqual(result.content, [{ type: 'text', text: 'sent' }]);
    assert.deepEqual((await call('echo', { text: 'after' })).content, [
      { type: 'text', text: 'after' },
    ]);
  });
});
