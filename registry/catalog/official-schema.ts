// The official MCP server.json format as mcpfleet reads it, in zod: the typed shape the
// compiler works on, and the source of the editor schema (json-schema.ts).
//
// It is not the judge of validity: official-validator.ts runs the official JSON Schema of the
// document's revision first, and this parse only runs on documents it accepted. So nothing
// here may be stricter than the official schema (the differential test holds it to that);
// what the platform cannot deploy is refused in compile.ts with a platform rule. Objects are
// strict so that fields mcpfleet does not read are found — load.ts reports them as warnings
// with a "did you mean" hint (a typo like "pakages" would otherwise deploy nothing) and
// removes them before this parse. `_meta` stays open: unknown keys are kept verbatim.
import { z } from 'zod';
import { PlatformSettingsSchema, PLATFORM_META_KEY } from './platform-schema.ts';
import { LATEST_REVISION, schemaUrlOf } from './official-validator.ts';

/** The revision mcpfleet writes and documents; every official revision is understood. */
export const OFFICIAL_SCHEMA_URL = schemaUrlOf(LATEST_REVISION);

/** Registry types mcpfleet can deploy (others are fine in packages it does not deploy). */
export const REGISTRY_TYPES = ['npm', 'pypi', 'oci', 'nuget', 'mcpb'] as const;
export type RegistryType = (typeof REGISTRY_TYPES)[number];

export const InputSchema = z.strictObject({
  description: z.string().optional(),
  isRequired: z.boolean().optional(),
  format: z.enum(['string', 'number', 'boolean', 'filepath']).optional(),
  value: z.string().optional(),
  isSecret: z.boolean().optional(),
  default: z.string().optional(),
  placeholder: z.string().optional(),
  choices: z.array(z.string()).optional(),
});
export type Input = z.infer<typeof InputSchema>;

const variablesField = {
  variables: z.record(z.string(), InputSchema).optional(),
};

export const PositionalArgumentSchema = InputSchema.extend({
  ...variablesField,
  type: z.literal('positional'),
  valueHint: z.string().optional(),
  isRepeated: z.boolean().optional(),
}).refine((a) => a.valueHint !== undefined || a.value !== undefined, {
  message: 'a positional argument needs "valueHint" or "value"',
});

export const NamedArgumentSchema = InputSchema.extend({
  ...variablesField,
  type: z.literal('named'),
  name: z.string(),
  isRepeated: z.boolean().optional(),
});

export const ArgumentSchema = z.discriminatedUnion('type', [
  PositionalArgumentSchema,
  NamedArgumentSchema,
]);
export type Argument = z.infer<typeof ArgumentSchema>;

export const KeyValueInputSchema = InputSchema.extend({
  ...variablesField,
  name: z.string(),
});
export type KeyValueInput = z.infer<typeof KeyValueInputSchema>;

export const StdioTransportSchema = z.strictObject({ type: z.literal('stdio') });
export const StreamableHttpTransportSchema = z.strictObject({
  type: z.literal('streamable-http'),
  url: z.string(),
  headers: z.array(KeyValueInputSchema).optional(),
});
export const SseTransportSchema = z.strictObject({
  type: z.literal('sse'),
  url: z.string(),
  headers: z.array(KeyValueInputSchema).optional(),
});
export const LocalTransportSchema = z.discriminatedUnion('type', [
  StdioTransportSchema,
  StreamableHttpTransportSchema,
  SseTransportSchema,
]);

export const RemoteTransportSchema = z.discriminatedUnion('type', [
  StreamableHttpTransportSchema.extend(variablesField),
  SseTransportSchema.extend(variablesField),
]);
export type RemoteTransport = z.infer<typeof RemoteTransportSchema>;

export const PackageSchema = z.strictObject({
  registryType: z.string(),
  registryBaseUrl: z.string().optional(),
  identifier: z.string(),
  version: z.string().optional(),
  fileSha256: z.string().optional(),
  runtimeHint: z.string().optional(),
  transport: LocalTransportSchema,
  runtimeArguments: z.array(ArgumentSchema).optional(),
  packageArguments: z.array(ArgumentSchema).optional(),
  environmentVariables: z.array(KeyValueInputSchema).optional(),
});
export type Package = z.infer<typeof PackageSchema>;

export const IconSchema = z.strictObject({
  src: z.string(),
  mimeType: z
    .enum(['image/png', 'image/jpeg', 'image/jpg', 'image/svg+xml', 'image/webp'])
    .optional(),
  sizes: z.array(z.string()).optional(),
  theme: z.enum(['light', 'dark']).optional(),
});

export const RepositorySchema = z.strictObject({
  url: z.string(),
  source: z.string(),
  id: z.string().optional(),
  subfolder: z.string().optional(),
});

/** `_meta`: open for any reverse-DNS key; ours is validated. */
export const MetaSchema = z.looseObject({
  [PLATFORM_META_KEY]: PlatformSettingsSchema.optional(),
});

export const ServerJsonSchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string(),
  title: z.string().optional(),
  description: z.string(),
  version: z.string(),
  websiteUrl: z.string().optional(),
  repository: RepositorySchema.optional(),
  icons: z.array(IconSchema).optional(),
  packages: z.array(PackageSchema).optional(),
  remotes: z.array(RemoteTransportSchema).optional(),
  _meta: MetaSchema.optional(),
});
export type ServerJson = z.infer<typeof ServerJsonSchema>;
