// The JSON Schema editors use while people type server.json, generated from the zod schema
// (never written twice). Published at registry/server.schema.json; a test keeps it current.
import { z } from 'zod';
import { ServerJsonSchema } from './official-schema.ts';

export const PUBLISHED_SCHEMA_PATH = 'registry/server.schema.json';

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
