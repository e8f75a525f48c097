// What the rate limit tests send and read: an MCP SDK client (with a bearer token, or none),
// a raw POST whose status, headers and JSON body are kept, a deadline on a batch of requests
// (a hang fails the test instead of stalling it), and a metric's value.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Dispatcher } from 'undici';
import { fetch as undiciFetch } from 'undici';
import type { RunningController } from '../../../controller/start.ts';
import { parseReply } from '../support/mcp-messages.ts';

export async function connectedClient(endpoint: string, token?: string): Promise<Client> {
  const client = new Client({ name: 'rate-limit-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(endpoint), {
      requestInit: token ? { headers: { authorization: `Bearer ${token}` } } : {},
    }),
  );
  return client;
}

export interface RawReply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** A POST of `body`; `dispatcher` picks e.g. the local address it comes from. */
export async function rawPost(
  url: string,
  token: string | undefined,
  body: string,
  dispatcher?: Dispatcher,
): Promise<RawReply> {
  const response = await undiciFetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
    },
    body,
    ...(dispatcher ? { dispatcher } : {}),
  });
  const reply = parseReply(await response.text());
  return { status: response.status, headers: response.headers as unknown as Headers, body: reply };
}

/** Every promise settled, or a rejection naming how many were still open after `ms`. */
export async function allAnswered<T>(
  promises: Promise<T>[],
  ms: number,
): Promise<PromiseSettledResult<T>[]> {
  let open = promises.length;
  const tracked = promises.map((p) => p.finally(() => (open -= 1)));
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.allSettled(tracked),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`${open} of ${promises.length} requests unanswered after ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The value of one series of a counter or gauge (0 when it has none yet). */
export async function metricValue(
  controller: RunningController,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = await controller.metrics.registry.getSingleMetric(name)?.get();
  const series = metric?.values.find((v) =>
    Object.entries(labels).every(([k, value]) => String(v.labels[k]) === value),
  );
  return series?.value ?? 0;
}
