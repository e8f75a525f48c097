// The JSON Schema editors use while people type server.json: the official schema of the latest
// revision (vendored, never rewritten) combined with the platform settings schema generated
// from zod (never written twice). Published at registry/server.schema.json, and inlined in
// .vscode/settings.json (see editorSettings); tests keep both current.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { OFFICIAL_SCHEMA_URL } from './official-schema.ts';
import { LATEST_REVISION } from './official-validator.ts';
import { PlatformSettingsSchema, PLATFORM_META_KEY } from './platform-schema.ts';

export const PUBLISHED_SCHEMA_PATH = 'registry/server.schema.json';
export const EDITOR_SETTINGS_PATH = '.vscode/settings.json';
export const SERVER_JSON_GLOB = 'registry/servers/*/server.json';

const SETTINGS_DEFINITION = 'McpfleetSettings';

export function serverJsonSchema(): Record<string, unknown> {
  const official = JSON.parse(
    readFileSync(new URL(`./official-schemas/${LATEST_REVISION}.json`, import.meta.url), 'utf8'),
  ) as { $schema: string; definitions: Record<string, unknown> };
  const { $schema: _draft, ...settings } = z.toJSONSchema(PlatformSettingsSchema, {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return {
    $schema: official.$schema,
    $id: 'https://mcpfleet.dev/schemas/v1/server.schema.json',
    title: `MCP server.json (official ${LATEST_REVISION}) with mcpfleet settings under _meta["${PLATFORM_META_KEY}"]`,
    definitions: { ...official.definitions, [SETTINGS_DEFINITION]: settings },
    allOf: [
      { $ref: '#/definitions/ServerDetail' },
      {
        properties: {
          _meta: {
            properties: { [PLATFORM_META_KEY]: { $ref: `#/definitions/${SETTINGS_DEFINITION}` } },
          },
        },
      },
    ],
  };
}

export function serverJsonSchemaText(): string {
  return `${JSON.stringify(serverJsonSchema(), null, 2)}\n`;
}

/**
 * VS Code settings that make the editor validate server.json with the platform's schema.
 * Every server.json names the official schema in `$schema`, and an editor follows a file's
 * own `$schema` ahead of any file association, so associating our schema with the files is
 * not enough: the settings instead give the official schema URL our content (a `json.schemas`
 * entry with both `url` and `schema` registers that content for the URL, so the editor
 * never downloads it). The platform settings are then checked while typing, offline too.
 */
export function editorSettings(): Record<string, unknown> {
  return {
    'json.schemas': [
      { fileMatch: [SERVER_JSON_GLOB], url: OFFICIAL_SCHEMA_URL, schema: serverJsonSchema() },
    ],
  };
}

export function editorSettingsText(): string {
  return `${JSON.stringify(editorSettings(), null, 2)}\n`;
}
