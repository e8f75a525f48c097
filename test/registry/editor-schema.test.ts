// What an editor shows while someone types a server.json: the JSON language service VS Code
// itself runs (vscode-json-languageservice), configured from .vscode/settings.json the way
// VS Code's JSON extension passes those settings on, with every network fetch refused. The
// files name the official schema in `$schema` (which the service follows ahead of any file
// association), so the platform settings are validated only because the settings give that
// URL the platform's schema — this test fails when they do not.
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import jsonLanguageService, { type Diagnostic } from 'vscode-json-languageservice';

const messageOf = (d: Diagnostic): string =>
  typeof d.message === 'string' ? d.message : d.message.value;
import { EDITOR_SETTINGS_PATH, editorSettingsText } from '../../registry/catalog/index.ts';

// A CommonJS (UMD) package: its exports come through the default import.
const { getLanguageService, TextDocument } = jsonLanguageService;
const ROOT = path.resolve(import.meta.dirname, '../..');
const SERVERS = path.join(ROOT, 'registry/servers');

interface SchemaSetting {
  fileMatch: string[];
  url: string;
  schema?: unknown;
}

describe('editors validate server.json with the platform schema (offline)', function () {
  const fetched: string[] = [];
  let settings: SchemaSetting[];

  before(async function () {
    const text = await readFile(path.join(ROOT, EDITOR_SETTINGS_PATH), 'utf8');
    settings = (JSON.parse(text) as { 'json.schemas': SchemaSetting[] })['json.schemas'];
  });

  async function diagnose(name: string, text: string): Promise<Diagnostic[]> {
    const service = getLanguageService({
      // Offline: nothing may be downloaded; a fetch is recorded and fails.
      schemaRequestService: async (uri) => {
        fetched.push(uri);
        throw new Error(`offline: ${uri}`);
      },
    });
    service.configure({
      validate: true,
      schemas: settings.map((s) => ({
        uri: s.url,
        fileMatch: s.fileMatch,
        schema: s.schema as never,
      })),
    });
    const uri = `file://${ROOT}/registry/servers/${name}/server.json`;
    const document = TextDocument.create(uri, 'json', 1, text);
    return service.doValidation(document, service.parseJSONDocument(document));
  }

  it(`${EDITOR_SETTINGS_PATH} is what \`mcpfleet registry schema --vscode-settings\` prints`, async () => {
    const text = await readFile(path.join(ROOT, EDITOR_SETTINGS_PATH), 'utf8');
    assert.equal(
      text,
      editorSettingsText(),
      `${EDITOR_SETTINGS_PATH} is stale: run \`npx mcpfleet registry schema --vscode-settings > ${EDITOR_SETTINGS_PATH}\``,
    );
  });

  it('every server.json of the registry validates clean, with nothing downloaded', async () => {
    for (const slug of await readdir(SERVERS)) {
      const text = await readFile(path.join(SERVERS, slug, 'server.json'), 'utf8');
      const problems = await diagnose(slug, text);
      assert.deepEqual(problems.map(messageOf), [], `${slug}/server.json`);
    }
    assert.deepEqual(fetched, [], 'the editor fetched a schema');
  });

  it('a wrong platform setting is flagged while typing, at its place', async () => {
    const text = await readFile(path.join(SERVERS, 'everything/server.json'), 'utf8');
    const broken = text.replace('"maxReplicas": 3', '"maxReplicas": "lots"');
    assert.notEqual(broken, text, 'the fixture line exists');
    const problems = await diagnose('everything', broken);
    assert.equal(problems.length, 1, JSON.stringify(problems.map(messageOf)));
    const line = broken.split('\n')[problems[0]!.range.start.line]!;
    assert.match(line, /"maxReplicas": "lots"/, 'the diagnostic points at the bad value');
    assert.match(messageOf(problems[0]!), /integer|number/i);
  });

  it('an unknown platform key is flagged too (a typo would otherwise deploy nothing)', async () => {
    const text = await readFile(path.join(SERVERS, 'everything/server.json'), 'utf8');
    const problems = await diagnose(
      'everything',
      text.replace('"sessionsPerReplica"', '"sessionPerReplica"'),
    );
    assert.ok(problems.length >= 1, 'flagged');
    assert.ok(
      problems.some((p) => /sessionPerReplica|not allowed|additional/i.test(messageOf(p))),
      JSON.stringify(problems.map(messageOf)),
    );
    assert.deepEqual(fetched, []);
  });
});
