// The JSON Schema editors use while people type server.json, generated from the zod schema
// (never written twice). Published at registry/server.schema.json, and inlined in
// .vscode/settings.json (see editorSettings); tests keep both current.
import { z } from 'zod';
import { OFFICIAL_SCHEMA_URL, ServerJsonSchema } from './official-schema.ts';

export const PUBLISHED_SCHEMA_PATH = 'registry/server.schema.json';
export const EDITOR_SETTINGS_PATH = '.vscode/settings.json';
export const SERVER_JSON_GLOB = 'registry/servers/*/server.json';

export function serverJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ServerJsonSchema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: 'https://mcpfleet.dev/schemas/v1/server.schema.json',
    title:
      'MCP server.json (official 2025-12-11) with mcpfleet settings under _meta["dev.mcpfleet/v1"]',
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema')),
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
