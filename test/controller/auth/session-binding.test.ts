// Sessions are bound to the principal that opened them and to their server (issue 10), seen
// from real MCP SDK clients: each one authenticates as it would in the field (a token from
// the real OpenID provider through the SDK's own client_credentials flow, or an API key in
// its Authorization header), and a hijacker is an SDK client told another's session id (its
// transport's `sessionId`, as a client resuming a session it knows). Whoever presents
// someone else's session — another token, another kind of credential, or the owner on
// another server — gets 404, the answer for a session that does not exist, so it learns
// nothing about it; the owner's session keeps working.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RunningController } from '../../../controller/start.ts';
import type { TestClient, TestIdentityProvider } from '../../fixtures/oidc-provider.ts';
import { startOAuthController, type OAuthController } from './oauth-controller.ts';

const ALICE: TestClient = { id: 'alice-bot', secret: 'alice-secret', groups: ['platform-admins'] };
const MALLORY: TestClient = { id: 'mallory-bot', secret: 'mallory-secret', groups: [] };

type Credential = { client: TestClient } | { key: string };

describe('sessions bound to their principal and server (real SDK clients)', function () {
  this.timeout(90_000);
  let running: OAuthController;
  let idp: TestIdentityProvider;
  let controller: RunningController;
  const opened: Client[] = [];

  const endpoint = (slug: string): URL => new URL(`${controller.url}/servers/${slug}/mcp`);

  /** An SDK client on `slug` as `who`; `sessionId`: a session it claims instead of opening one. */
  async function connect(slug: string, who: Credential, sessionId?: string): Promise<Client> {
    const transport = new StreamableHTTPClientTransport(endpoint(slug), {
      ...('client' in who
        ? {
            authProvider: new ClientCredentialsProvider({
              clientId: who.client.id,
              clientSecret: who.client.secret!,
              expectedIssuer: idp.issuer,
              scope: 'mcp',
            }),
          }
        : { requestInit: { headers: { authorization: `Bearer ${who.key}` } } }),
      ...(sessionId !== undefined ? { sessionId } : {}),
    });
    const client = new Client({ name: 'session-binding-test', version: '1.0.0' });
    await client.connect(transport);
    opened.push(client);
    return client;
  }

  const sessionOf = (client: Client): string =>
    (client.transport as StreamableHTTPClientTransport).sessionId!;

  async function echo(client: Client, message: string): Promise<unknown> {
    return (await client.callTool({ name: 'echo', arguments: { message } })).content;
  }

  async function assertNotFound(client: Client, why: string): Promise<void> {
    await assert.rejects(
      echo(client, 'hijack'),
      (err: unknown) => err instanceof StreamableHTTPError && err.code === 404,
      why,
    );
  }

  async function newKey(name: string, admin: string): Promise<string> {
    const reply = await fetch(`${controller.url}/api/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, role: 'operator' }),
    });
    const body = (await reply.json()) as { key?: string };
    assert.equal(reply.status, 201, JSON.stringify(body));
    return body.key!;
  }

  before(async function () {
    running = await startOAuthController([ALICE, MALLORY], {
      keyHashingSecret: 'a key-hashing secret of at least 32 characters',
    });
    ({ idp, controller } = running);
  });
  after(async function () {
    for (const client of opened) await client.close().catch(() => undefined);
    await running?.close();
  });

  it("refuses a token holder's session to another token, to an API key, and on another server", async function () {
    const alice = await connect('everything', { client: ALICE });
    assert.deepEqual(await echo(alice, 'mine'), [{ type: 'text', text: 'Echo: mine' }]);
    const session = sessionOf(alice);
    const admin = await idp.token(ALICE, controller.url, 'mcp');

    await assertNotFound(
      await connect('everything', { client: MALLORY }, session),
      'another token (another principal)',
    );
    await assertNotFound(
      await connect('everything', { key: await newKey('mallory-key', admin) }, session),
      'an API key',
    );
    await assertNotFound(
      await connect('everything-http', { client: ALICE }, session),
      'its own principal, on another server',
    );
    assert.deepEqual(
      await echo(alice, 'still mine'),
      [{ type: 'text', text: 'Echo: still mine' }],
      'the owner keeps its session',
    );
  });

  it("refuses an API key's session to another key and to a token", async function () {
    const admin = await idp.token(ALICE, controller.url, 'mcp');
    const ci = await connect('everything', { key: await newKey('ci', admin) });
    assert.deepEqual(await echo(ci, 'ci'), [{ type: 'text', text: 'Echo: ci' }]);
    const session = sessionOf(ci);

    await assertNotFound(
      await connect('everything', { key: await newKey('other-ci', admin) }, session),
      'another key',
    );
    await assertNotFound(
      await connect('everything', { client: ALICE }, session),
      'a token, even an admin one',
    );
    assert.deepEqual(await echo(ci, 'ci again'), [{ type: 'text', text: 'Echo: ci again' }]);
  });
});
