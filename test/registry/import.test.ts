// `mcpfleet registry add|search` as a user runs them (a real process), against a registry on
// loopback that serves the v0.1 API as its OpenAPI description specifies; never the network.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { PLATFORM_META_KEY } from '../../registry/catalog/index.ts';
import { slugFromName } from '../../registry/import/slug.ts';
import { buildSkeleton, needsOf } from '../../registry/import/skeleton.ts';
import {
  FIXTURE_ENTRIES,
  startRegistryApi,
  type FixtureEntry,
  type RegistryApi,
} from '../fixtures/registry-api.ts';
import {
  ERROR_SCHEMA,
  SERVER_LIST_SCHEMA,
  SERVER_RESPONSE_SCHEMA,
} from '../fixtures/registry-api-schema.ts';
import { tempRegistry, type TempRegistry } from './temp-registry.ts';

const run = promisify(execFile);
const BIN = 'controller/cli/bin.js';
const AIRTABLE = 'io.github.domdomegg/airtable-mcp-server';
const GITHUB = 'io.github.github/github-mcp-server';
const FILESYSTEM = 'io.github.modelcontextprotocol/filesystem';
const TIME = 'io.github.domdomegg/time-mcp-pypi';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function mcpfleet(...args: string[]): Promise<Run> {
  // The registry URL comes from the arguments only, whatever the developer's shell sets.
  const env = { ...process.env };
  delete env.MCPFLEET_REGISTRY_URL;
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function served(name: string, version?: string): FixtureEntry['server'] {
  const versions = FIXTURE_ENTRIES.filter((e) => e.server.name === name);
  const entry = version ? versions.find((e) => e.server.version === version) : versions.at(-1);
  assert.ok(entry, `fixture has ${name}@${version ?? 'latest'}`);
  return entry.server;
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
}

function settingsIn(document: Record<string, unknown>): Record<string, unknown> {
  return (document._meta as Record<string, Record<string, unknown>>)[PLATFORM_META_KEY] as Record<
    string,
    unknown
  >;
}

/** The document without our settings: what the registry served, if nothing else changed. */
function withoutSettings(document: Record<string, unknown>): Record<string, unknown> {
  const { [PLATFORM_META_KEY]: _settings, ...meta } = document._meta as Record<string, unknown>;
  const { _meta: _all, ...rest } = document;
  return Object.keys(meta).length > 0 ? { ...rest, _meta: meta } : rest;
}

/** Replaces the skeleton's settings, as the person filling it in would. */
async function fill(file: string, settings: Record<string, unknown>): Promise<void> {
  const document = await readJson(file);
  const meta = document._meta as Record<string, unknown>;
  meta[PLATFORM_META_KEY] = settings;
  await writeFile(file, JSON.stringify(document, null, 2));
}

function assertNoStackTrace(result: Run): void {
  assert.doesNotMatch(result.stdout + result.stderr, /\n\s+at /, 'no stack trace');
}

/** A loopback server answering every request with `handler`; for what no registry does. */
async function oddServer(handler: http.RequestListener): Promise<{ url: string; close(): void }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe('mcpfleet registry add and search (against a loopback v0.1 registry)', () => {
  let api: RegistryApi;
  let registry: TempRegistry;

  // Pages of two entries, whatever limit a client asks: searches must follow cursors.
  before(async () => {
    api = await startRegistryApi({ pageSize: 2 });
  });
  after(() => api.close());
  beforeEach(async () => {
    registry = await tempRegistry({});
  });
  afterEach(() => registry.cleanup());

  // `args` come last, so an option given there wins over these (commander keeps the last).
  const add = (...args: string[]) =>
    mcpfleet('registry', 'add', '--dir', registry.dir, '--registry-url', api.url, ...args);

  it('add writes the latest server.json unchanged plus a skeleton naming its secret, and the check flags it', async () => {
    const result = await add(AIRTABLE);
    assert.equal(result.code, 1, result.stderr);
    const file = registry.file('airtable');
    const text = await readFile(file, 'utf8');
    const written = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(withoutSettings(written), served(AIRTABLE, '1.7.3'));
    assert.equal(text, `${JSON.stringify(written, null, 2)}\n`, '2-space indented');
    assert.deepEqual(settingsIn(written), {
      secrets: {
        AIRTABLE_API_KEY: {
          secret: '<fill in: Kubernetes Secret name>',
          key: '<fill in: key in that Secret>',
        },
      },
    });
    assert.ok(
      api.answers.some(
        (a) => a.url === '/v0.1/servers/io.github.domdomegg%2Fairtable-mcp-server/versions/latest',
      ),
      'asked for the URL-encoded name, version latest',
    );
    assert.match(result.stdout, /^wrote \S+airtable\/server\.json: \S+ 1\.7\.3 from /m);
    assert.match(result.stdout, /secrets\.AIRTABLE_API_KEY {2}required secret/);
    assert.match(
      result.stdout,
      /secrets\.AIRTABLE_API_KEY\.secret: "<fill in: Kubernetes Secret name>" is a placeholder left by "mcpfleet registry add"/,
    );
    assert.match(
      result.stdout,
      /\.secrets\.AIRTABLE_API_KEY\.key: "<fill in: key in that Secret>"/,
    );
    assert.match(result.stdout, /^2 problems in \S+airtable\/server\.json$/m);
    assert.match(result.stdout, /The skeleton needs filling/);
    assert.match(
      result.stdout,
      new RegExp(`Then run: npx mcpfleet registry check ${registry.dir}`),
    );
    assertNoStackTrace(result);

    // Filled in, it is a valid server: the skeleton named all there was to decide.
    await fill(file, { secrets: { AIRTABLE_API_KEY: { secret: 'airtable', key: 'token' } } });
    const check = await mcpfleet('registry', 'check', registry.dir);
    assert.equal(check.code, 0, check.stdout);
  });

  it('add name@version imports that version; @latest the latest', async () => {
    const pinned = await add(`${AIRTABLE}@1.7.2`);
    assert.equal(pinned.code, 1);
    assert.deepEqual(
      withoutSettings(await readJson(registry.file('airtable'))),
      served(AIRTABLE, '1.7.2'),
    );

    const latest = await add(`${AIRTABLE}@latest`, '--slug', 'airtable-latest');
    assert.match(latest.stderr, /already registered as \S+airtable\b/, 'one name, one directory');
    await registry.cleanup();
    registry = await tempRegistry({});
    const again = await add(`${AIRTABLE}@latest`);
    assert.equal(again.code, 1, again.stderr);
    assert.equal((await readJson(registry.file('airtable'))).version, '1.7.3');
  });

  it('add of a remote binds the secret variable of its header; filled in, the header carries it', async () => {
    const result = await add(GITHUB);
    assert.equal(result.code, 1, result.stderr);
    const file = registry.file('github');
    const written = await readJson(file);
    assert.deepEqual(withoutSettings(written), served(GITHUB));
    assert.deepEqual(Object.keys(settingsIn(written).secrets as object), ['token']);
    assert.match(
      result.stdout,
      /secrets\.token {2}required secret \(remotes\[0\]\.headers\[0\]\.variables\.token\)/,
    );

    await fill(file, { secrets: { token: { secret: 'github-remote', key: 'pat' } } });
    const compiled = await mcpfleet('registry', 'compile', registry.dir);
    assert.equal(compiled.code, 0, compiled.stderr);
    const [spec] = JSON.parse(compiled.stdout) as {
      upstream: { headers: Record<string, string>; secretHeaders: unknown[] };
    }[];
    assert.equal(spec?.upstream.headers.Authorization, 'Bearer $(MCPFLEET_SECRET_TOKEN)');
    assert.deepEqual(spec?.upstream.secretHeaders, [
      { env: 'MCPFLEET_SECRET_TOKEN', secretName: 'github-remote', key: 'pat' },
    ]);
  });

  it('add gives a required repeated input a placeholder list the check flags until filled', async () => {
    const result = await add(FILESYSTEM);
    assert.equal(result.code, 1, result.stderr);
    const file = registry.file('filesystem');
    assert.deepEqual(settingsIn(await readJson(file)), {
      inputs: {
        directory: ['<fill in: A directory the server may access; repeat for several (filepath)>'],
      },
    });
    assert.match(result.stdout, /inputs\.directory\[0\]: "<fill in: A directory/);
    assert.match(result.stdout, /^1 problem in /m);
    await fill(file, { inputs: { directory: ['/srv/shared'] } });
    assert.equal((await mcpfleet('registry', 'check', registry.dir)).code, 0);
  });

  it('add of a server with nothing to decide passes the check at once', async () => {
    const result = await add(TIME);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(settingsIn(await readJson(registry.file('time-mcp-pypi'))), {});
    assert.match(result.stdout, /^ok: \S+time-mcp-pypi\/server\.json is valid$/m);
  });

  it('add of an unknown name or version says so (the 404), and writes nothing', async () => {
    const unknown = await add('io.example/nothing-here');
    assert.equal(unknown.code, 1);
    assert.equal(
      unknown.stderr,
      `mcpfleet: no server named io.example/nothing-here in ${api.url}\n`,
    );
    const version = await add(`${AIRTABLE}@9.9.9`);
    assert.equal(version.code, 1);
    assert.equal(
      version.stderr,
      `mcpfleet: ${AIRTABLE} has no version 9.9.9 in ${api.url}; it has: 1.7.3, 1.7.2\n`,
    );
    await assert.rejects(readFile(registry.file('nothing-here')), { code: 'ENOENT' });
    await assert.rejects(readFile(registry.file('airtable')), { code: 'ENOENT' });
  });

  it('add refuses an existing directory; --force replaces the server.json and keeps its settings', async () => {
    assert.equal((await add(`${AIRTABLE}@1.7.2`)).code, 1);
    const file = registry.file('airtable');
    const filled = { secrets: { AIRTABLE_API_KEY: { secret: 'airtable', key: 'token' } } };
    await fill(file, filled);
    const before = await readFile(file, 'utf8');

    const refused = await add(AIRTABLE);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /airtable already exists: pass --force to replace its server\.json/,
    );
    assert.equal(await readFile(file, 'utf8'), before, 'untouched');

    const replaced = await add(AIRTABLE, '--force');
    assert.equal(replaced.code, 0, replaced.stdout);
    const written = await readJson(file);
    assert.deepEqual(withoutSettings(written), served(AIRTABLE, '1.7.3'));
    assert.deepEqual(settingsIn(written), filled);
    assert.match(replaced.stdout, /kept the _meta\["dev\.mcpfleet\/v1"\] settings/);
  });

  it('add refuses bad input with a clear word: name, version, slug, directory', async () => {
    const name = await add('not-a-name');
    assert.match(
      name.stderr,
      /^mcpfleet: "not-a-name" is not a server name: registry names are reverse-DNS/,
    );
    const version = await add(`${AIRTABLE}@`);
    assert.match(version.stderr, /names no version after "@"/);
    const slug = await add(AIRTABLE, '--slug', 'Not_A_Slug');
    assert.match(slug.stderr, /--slug "Not_A_Slug" is not a valid slug/);
    const dir = await add(AIRTABLE, '--dir', path.join(registry.dir, 'nope'));
    assert.match(dir.stderr, /registry directory \S+nope does not exist/);
    const url = await add(AIRTABLE, '--registry-url', 'ftp://example.com');
    assert.match(url.stderr, /--registry-url "ftp:\/\/example\.com" must be an http\(s\) URL/);
    for (const result of [name, version, slug, dir, url]) {
      assert.equal(result.code, 1);
      assertNoStackTrace(result);
    }
  });

  it('says when nothing answers, when the answer is no JSON, and when none comes in time', async () => {
    const closed = await oddServer(() => {});
    closed.close();
    const refused = await mcpfleet('registry', 'search', 'x', '--registry-url', closed.url);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      `mcpfleet: cannot reach the registry at ${closed.url} (ECONNREFUSED); check --registry-url or MCPFLEET_REGISTRY_URL\n`,
    );

    const html = await oddServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hi</html>'),
    );
    const silent = await oddServer(() => {});
    try {
      const notJson = await add(AIRTABLE, '--registry-url', html.url);
      assert.match(
        notJson.stderr,
        /answered GET \/v0\.1\/servers\/io\.github\.domdomegg%2Fairtable-mcp-server\/versions\/latest with something that is not JSON/,
      );
      const slow = await mcpfleet(
        'registry',
        'search',
        'x',
        '--registry-url',
        silent.url,
        '--timeout',
        '300ms',
      );
      assert.equal(
        slow.stderr,
        `mcpfleet: the registry at ${silent.url} did not answer within 0.3s (see --timeout)\n`,
      );
      for (const result of [notJson, slow]) {
        assert.equal(result.code, 1);
        assertNoStackTrace(result);
      }
    } finally {
      html.close();
      silent.close();
    }
  });

  it('the environment names the registry when --registry-url does not', async () => {
    const { stdout, code } = await run(process.execPath, [BIN, 'registry', 'search', 'time'], {
      env: { ...process.env, MCPFLEET_REGISTRY_URL: api.url },
    }).then((r) => ({ ...r, code: 0 }));
    assert.equal(code, 0);
    assert.match(stdout, /io\.github\.domdomegg\/time-mcp-pypi +1\.0\.6 +pypi/);
  });

  it('search lists the latest version of each match, following cursors across pages', async () => {
    const from = api.answers.length;
    const result = await mcpfleet('registry', 'search', 'io.github', '--registry-url', api.url);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.match(lines[0] as string, /^NAME +VERSION +KINDS +DESCRIPTION$/);
    assert.match(
      lines[1] as string,
      /^io\.github\.domdomegg\/airtable-mcp-server +1\.7\.3 +npm,oci +Airtable bases/,
    );
    assert.match(lines[2] as string, /^io\.github\.domdomegg\/time-mcp-pypi +1\.0\.6 +pypi /);
    assert.match(
      lines[3] as string,
      /^io\.github\.github\/github-mcp-server +0\.32\.0 +remote:streamable-http /,
    );
    assert.match(
      lines[4] as string,
      /^io\.github\.modelcontextprotocol\/filesystem +2026\.8\.31 +npm /,
    );
    assert.equal(lines.length, 6, 'four servers and the hint');
    const pages = api.answers.slice(from).map((a) => new URL(a.url, api.url).searchParams);
    assert.equal(pages.length, 2, 'two pages of two');
    assert.equal(pages[0]?.get('cursor'), null);
    assert.ok(pages[1]?.get('cursor'), "the second page asked with the first one's cursor");
    for (const page of pages) {
      assert.equal(page.get('search'), 'io.github');
      assert.equal(page.get('version'), 'latest');
    }
  });

  it('search --limit stops there, asking for no more than it needs, and says more match', async () => {
    const from = api.answers.length;
    const result = await mcpfleet(
      'registry',
      'search',
      'io.github',
      '--limit',
      '3',
      '--registry-url',
      api.url,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.match(/^io\.github\./gm)?.length, 3);
    assert.match(result.stdout, /\(the first 3; more match: raise --limit\)/);
    const limits = api.answers
      .slice(from)
      .map((a) => new URL(a.url, api.url).searchParams.get('limit'));
    assert.deepEqual(limits, ['3', '1']);
  });

  it('search --json prints the registry entries; no match says so', async () => {
    const json = await mcpfleet(
      'registry',
      'search',
      'domdomegg',
      '--json',
      '--registry-url',
      api.url,
    );
    assert.equal(json.code, 0, json.stderr);
    const entries = JSON.parse(json.stdout) as { server: { name: string; version: string } }[];
    assert.deepEqual(
      entries.map((e) => `${e.server.name}@${e.server.version}`),
      [`${AIRTABLE}@1.7.3`, `${TIME}@1.0.6`],
    );
    const none = await mcpfleet('registry', 'search', 'zzz', '--registry-url', api.url);
    assert.equal(none.code, 0);
    assert.equal(none.stdout, `no server in ${api.url} has "zzz" in its name\n`);
    const badLimit = await mcpfleet(
      'registry',
      'search',
      'x',
      '--limit',
      '0',
      '--registry-url',
      api.url,
    );
    assert.equal(badLimit.code, 1);
    assert.match(badLimit.stderr, /use a whole number from 1 to 1000/);
  });

  it('every answer the fixture gave matches the OpenAPI response schemas', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const validators = {
      ServerList: ajv.compile(SERVER_LIST_SCHEMA),
      ServerResponse: ajv.compile(SERVER_RESPONSE_SCHEMA),
      Error: ajv.compile(ERROR_SCHEMA),
    };
    const kinds = new Set(api.answers.map((a) => a.kind));
    assert.deepEqual(
      [...kinds].sort(),
      ['Error', 'ServerList', 'ServerResponse'],
      'all kinds seen',
    );
    for (const answer of api.answers) {
      const validate = validators[answer.kind];
      assert.ok(validate(answer.body), `${answer.url}: ${ajv.errorsText(validate.errors)}`);
    }
    assert.ok(api.answers.some((a) => a.status === 404 && a.kind === 'Error'));
  });
});

describe('registry add: what a registry may serve beyond the starter servers', () => {
  async function withRegistry(
    entries: FixtureEntry[],
    body: (api: RegistryApi, dir: string) => Promise<void>,
  ) {
    const api = await startRegistryApi({ entries });
    const registry = await tempRegistry({});
    try {
      await body(api, registry.dir);
    } finally {
      await api.close();
      await registry.cleanup();
    }
  }

  it('warns when the registry marks the version deprecated', async () => {
    const entry = {
      server: served(TIME),
      publishedAt: '2025-09-30T14:00:00Z',
      status: 'deprecated' as const,
    };
    await withRegistry([entry], async (api, dir) => {
      const result = await mcpfleet(
        'registry',
        'add',
        TIME,
        '--dir',
        dir,
        '--registry-url',
        api.url,
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        /^warning: the registry marks io\.github\.domdomegg\/time-mcp-pypi 1\.0\.6 as deprecated$/m,
      );
    });
  });

  it('keeps the settings a (private) registry serves, and fills only what they leave open', async () => {
    const server = {
      ...served(AIRTABLE),
      _meta: {
        'io.modelcontextprotocol.registry/publisher-provided': { tool: 'publisher-cli' },
        [PLATFORM_META_KEY]: {
          secrets: { AIRTABLE_API_KEY: { secret: 'corp-airtable', key: 'token' } },
          egress: [{ host: 'api.airtable.com', ports: [443] }],
        },
      },
    };
    await withRegistry([{ server, publishedAt: '2026-01-01T00:00:00Z' }], async (api, dir) => {
      const result = await mcpfleet(
        'registry',
        'add',
        AIRTABLE,
        '--dir',
        dir,
        '--registry-url',
        api.url,
      );
      assert.equal(result.code, 0, result.stdout);
      assert.deepEqual(await readJson(path.join(dir, 'airtable', 'server.json')), server);
      assert.doesNotMatch(result.stdout, /to fill in/);
    });
  });
});

describe('registry add: slugs and skeletons', () => {
  it('makes a DNS-1123 slug of at most 40 characters from the name', () => {
    assert.equal(slugFromName(AIRTABLE), 'airtable');
    assert.equal(slugFromName(GITHUB), 'github');
    assert.equal(slugFromName(FILESYSTEM), 'filesystem');
    assert.equal(slugFromName(TIME), 'time-mcp-pypi');
    assert.equal(slugFromName('com.notion/mcp'), 'notion', 'a generic name takes the organisation');
    assert.equal(slugFromName('io.github.acme/Weather_Server.v2'), 'weather-server-v2');
    const long = slugFromName(`io.example/${'a'.repeat(39)}-b-c`);
    assert.equal(long, 'a'.repeat(39), 'cut at 40 without a trailing dash');
    assert.equal(slugFromName('io.example/___'), 'example');
  });

  it("names a named secret argument without its dashes, and leaves the platform's port alone", () => {
    const document = {
      packages: [
        {
          registryType: 'npm',
          identifier: 'x',
          version: '1.0.0',
          transport: { type: 'streamable-http', url: 'http://localhost:{port}/mcp' },
          packageArguments: [
            { type: 'named', name: '--api-key', isSecret: true },
            { type: 'named', name: '--port', valueHint: 'port', isRequired: true },
            { type: 'named', name: '--region', choices: ['eu', 'us'], isRequired: true },
            { type: 'named', name: '--verbose' },
            { type: 'positional', value: 'serve' },
          ],
          environmentVariables: [{ name: 'LOG_LEVEL', isRequired: true, default: 'info' }],
        },
      ],
    };
    const skeleton = buildSkeleton(document);
    assert.deepEqual(skeleton.settings, {
      secrets: {
        'api-key': {
          secret: '<fill in: Kubernetes Secret name, or delete this optional secret>',
          key: '<fill in: key in that Secret>',
        },
      },
      inputs: { region: '<fill in: (one of: eu, us)>' },
    });
    assert.deepEqual(
      skeleton.optional.map((n) => n.key),
      ['verbose'],
    );
  });

  it('reads the package the settings pick, and a remote URL variable with no value', () => {
    const pkg = (name: string) => ({
      registryType: 'npm',
      identifier: name,
      version: '1.0.0',
      transport: { type: 'stdio' },
      environmentVariables: [
        { name: `${name.toUpperCase()}_TOKEN`, isSecret: true, isRequired: true },
      ],
    });
    const needs = needsOf({ packages: [pkg('a'), pkg('b')] }, { package: 'b' });
    assert.deepEqual(
      needs.map((n) => n.key),
      ['B_TOKEN'],
    );
    const remote = needsOf({
      remotes: [
        {
          type: 'streamable-http',
          url: 'https://{tenant}.example.com/{path}',
          variables: { path: { default: 'mcp' } },
        },
      ],
    });
    assert.deepEqual(
      remote.map((n) => [n.key, n.kind, n.required]),
      [['tenant', 'input', true]],
    );
  });
});
