// What translating between protocol eras costs, through a real controller (local runtime,
// the registry's `everything-http`, a 2025 server): the same tools/call
//   native:     from a 2025 client in its session (the gateway passes it through);
//   translated: from a 2026-07-28 client, sessionless with its envelope (the gateway sends it
//               in the backend session it holds for that envelope and rewrites the result).
// Calls alternate so machine noise hits both alike; the added cost is the median of the
// paired differences. Prints JSON. Usage: node bench/era-translation.ts [calls=400]
import { request } from 'undici';
import { startController } from '../controller/start.ts';
import { silentLogger } from '../controller/observability/log.ts';
import { openSession, replyOf, rpc, summarize } from './mcp-load.ts';
import { registrySpec } from './fleet-setup.ts';

const CALLS = Number(process.argv[2] ?? 400);
const MODERN = '2026-07-28';
const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

const controller = await startController({
  specs: [await registrySpec('everything-http')],
  host: '127.0.0.1',
  port: 0,
  dataDir: 'memory://',
  logger: silentLogger(),
});
const url = `${controller.url}/servers/everything-http/mcp`;

/** A 2026-07-28 tools/call: sessionless, its envelope in _meta, the headers the revision asks. */
async function modernEcho(id: number): Promise<void> {
  // undici's request, as rpc() uses for the native call: the same client on both sides.
  const res = await request(url, {
    method: 'POST',
    headers: {
      ...HEADERS,
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': 'echo',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: 'x' }, _meta: ENVELOPE },
    }),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200 || !replyOf(text, id)?.result)
    throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
}

const session = await openSession(url);
const nativeEcho = () => rpc(session, 'tools/call', { name: 'echo', arguments: { message: 'x' } });
// Warm-up: connections, the era probe, the backend session held for the envelope.
for (let i = 0; i < 20; i++) {
  await nativeEcho();
  await modernEcho(i);
}

const native: number[] = [];
const translated: number[] = [];
const added: number[] = [];
for (let i = 0; i < CALLS; i++) {
  let t0 = performance.now();
  await nativeEcho();
  const n = performance.now() - t0;
  t0 = performance.now();
  await modernEcho(i);
  const t = performance.now() - t0;
  native.push(n);
  translated.push(t);
  added.push(t - n);
}
await controller.close();
const sorted = [...added].sort((a, b) => a - b);
console.log(
  JSON.stringify(
    {
      benchmark: 'era-translation',
      server: 'everything-http (2025-11-25, Streamable HTTP), local runtime',
      calls: CALLS,
      native: { what: 'tools/call from a 2025 client in its session', ...summarize(native) },
      translated: {
        what: 'tools/call from a 2026-07-28 client (translated)',
        ...summarize(translated),
      },
      addedP50Ms: Math.round(sorted[Math.floor(sorted.length / 2)]! * 1000) / 1000,
    },
    null,
    2,
  ),
);
