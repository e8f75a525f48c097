// An initialize whose replica went away before answering (its lease aborted, the connection
// closed before the response head: a pod scaled down while this controller still listed it) is
// sent once more, to a replica that is there; nothing else is. The replica going away is a real
// HTTP server that closes the connection of the first request; the one that is there is
// server-everything.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { initializeBody } from '../support/mcp-messages.ts';
import { startEverythingHttp, type Backend } from './everything-backend.ts';
import { StaticFleet } from './static-fleet.ts';
import { startGateway, type RunningGateway } from './start-gateway.ts';

const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

describe('gateway: an initialize whose replica went away before answering', function () {
  let everything: Backend;
  let leaving: Server;
  let leavingUrl: string;
  let fleet: StaticFleet;
  let gateway: RunningGateway;
  /** What the leaving replica does with a request before it closes the connection. */
  let onRequest: () => void;
  let received: string[];

  before(async function () {
    everything = await startEverythingHttp();
    leaving = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push(Buffer.concat(chunks).toString());
        onRequest();
        res.socket?.destroy(); // gone before any response head
      });
    });
    await new Promise<void>((resolve) => leaving.listen(0, '127.0.0.1', resolve));
    leavingUrl = `http://127.0.0.1:${(leaving.address() as AddressInfo).port}/mcp`;
  });
  after(async function () {
    await everything?.stop();
    await new Promise((resolve) => leaving?.close(resolve));
  });
  beforeEach(async function () {
    received = [];
    fleet = new StaticFleet({ everything: { url: leavingUrl, replicaId: 'leaving', headers: {} } });
    gateway = await startGateway(fleet);
  });
  afterEach(async function () {
    await gateway.close();
  });

  /** The replica is scaled away while it holds the request: the fleet now lists the other. */
  const goAway = () => {
    fleet.upstreams.set('everything', { url: everything.url, replicaId: 'there', headers: {} });
    for (const lease of fleet.live()) lease.abort();
  };

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(gateway.mcpUrl('everything'), {
      method: 'POST',
      headers: { ...MCP_HEADERS, ...headers },
      body,
      signal: AbortSignal.timeout(15_000),
    });

  it('is sent once more, to the replica that is there, and the client never sees it', async () => {
    onRequest = goAway;
    const res = await post(initializeBody(7));
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.match(text, /"id":7/);
    assert.match(text, /"serverInfo"/);
    assert.ok(res.headers.get('mcp-session-id'), 'a session of the replica that answered');
    assert.equal(received.length, 1, 'the leaving replica got it once');
    assert.deepEqual(
      fleet.leases.map((l) => l.releases),
      [1, 1],
      'two leases, each released once',
    );
  });

  it('is not sent again when the replica did not go away (the lease still held): 502', async () => {
    onRequest = () => {
      fleet.upstreams.set('everything', { url: everything.url, replicaId: 'there', headers: {} });
    };
    const res = await post(initializeBody(8));
    const body = (await res.json()) as { id: number; error: { code: number } };
    assert.equal(res.status, 502);
    assert.equal(body.id, 8);
    assert.equal(received.length, 1);
    assert.equal(fleet.leases.length, 1);
  });

  it('does not send another call again (it may have run): 503 with Retry-After', async () => {
    onRequest = goAway;
    const call = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' });
    const res = await post(call, { 'mcp-protocol-version': '2025-06-18' });
    const body = (await res.json()) as { id: number; error: { message: string } };
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(body.id, 9);
    assert.match(body.error.message, /went away/);
    assert.equal(received.length, 1);
    assert.equal(fleet.leases.length, 1);
  });
});
