// The official MCP server.json format, schema 2025-12-11, field for field, in zod.
// Source of truth: https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json
//
// Deliberate strictness beyond the official schema (this registry deploys what it reads):
// unknown fields are rejected with a "did you mean" hint (a typo like "pakages" would
// otherwise silently deploy nothing), and unknown registryTypes are rejected because we
// cannot run them. `_meta` stays open: unknown keys are kept verbatim.
import { z } from 'zod';
import { PlatformSettingsSchema, PLATFORM_META_KEY } from './platform-schema.ts';

export const OFFICIAL_SCHEMA_URL =
  'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json';

/** Registry types mcpfleet can deploy. */
export const REGISTRY_TYPES = ['npm', 'pypi', 'oci', 'nuget', 'mcpb'] as const;
export type RegistryType = (typeof REGISTRY_TYPES)[number];

/** `^1.2`, `~1`, `>=1`, `1.x`, `1.*`, `1 - 2`, `1 || 2`: ranges, not versions. */
const VERSION_RANGE = /^[\^~><=*]|\|\||\s|(^|\.)[xX*](\.|$)/;

const specificVersion = (what: string) =>
  z
    .string()
    .min(1, `${what} must not be empty`)
    .max(255)
    .refine((v) => v !== 'latest', {
      message: `"latest" is not a version: pin an exact ${what} (e.g. "1.2.3") so deploys are reproducible`,
    })
    .refine((v) => !VERSION_RANGE.test(v), {
      message: `version ranges are not allowed: pin an exact ${what} (e.g. "1.2.3" instead of "^1.2")`,
    });

const httpUrl = z.url({
  protocol: /^https?$/,
  error: 'must be an absolute http(s) URL',
});

const UrlTemplate = z
  .string()
  .regex(
    /^(https?:\/\/[^\s]+|\{[a-zA-Z_][a-zA-Z0-9_]*\}[^\s]*)$/,
    'must start with http://, https:// or a {variable}, with no spaces',
  );

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
  name: z.string().min(1, 'the flag name, including dashes, e.g. "--port"'),
  isRepeated: z.boolean().optional(),
});

export const ArgumentSchema = z.discriminatedUnion('type', [
  PositionalArgumentSchema,
  NamedArgumentSchema,
]);
export type Argument = z.infer<typeof ArgumentSchema>;

export const KeyValueInputSchema = InputSchema.extend({
  ...variablesField,
  name: z.string().min(1),
});
export type KeyValueInput = z.infer<typeof KeyValueInputSchema>;

export const StdioTransportSchema = z.strictObject({ type: z.literal('stdio') });
export const StreamableHttpTransportSchema = z.strictObject({
  type: z.literal('streamable-http'),
  url: UrlTemplate,
  headers: z.array(KeyValueInputSchema).optional(),
});
export const SseTransportSchema = z.strictObject({
  type: z.literal('sse'),
  url: UrlTemplate,
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

export const PackageSchema = z
  .strictObject({
    registryType: z.enum(REGISTRY_TYPES, {
      error: (issue) =>
        `unknown registryType ${JSON.stringify(issue.input)}: use one of ${REGISTRY_TYPES.join(', ')}`,
    }),
    registryBaseUrl: httpUrl.optional(),
    identifier: z.string().min(1, 'the package name, image reference or bundle URL'),
    version: specificVersion('package version').optional(),
    fileSha256: z
      .string()
      .regex(/^[a-f0-9]{64}$/, 'must be 64 lowercase hex characters (sha256sum of the file)')
      .optional(),
    runtimeHint: z.string().optional(),
    transport: LocalTransportSchema,
    runtimeArguments: z.array(ArgumentSchema).optional(),
    packageArguments: z.array(ArgumentSchema).optional(),
    environmentVariables: z.array(KeyValueInputSchema).optional(),
  })
  .superRefine((pkg, ctx) => {
    if (pkg.registryType === 'mcpb') {
      if (!pkg.fileSha256) {
        ctx.addIssue({
          code: 'custom',
          path: ['fileSha256'],
          message:
            'an mcpb package needs "fileSha256" (run: sha256sum bundle.mcpb) so the download can be verified',
        });
      }
      if (!/^https:\/\//.test(pkg.identifier)) {
        ctx.addIssue({
          code: 'custom',
          path: ['identifier'],
          message: 'an mcpb identifier is the bundle download URL and must start with https://',
        });
      }
    } else if (pkg.registryType !== 'oci' && pkg.version === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['version'],
        message: `a ${pkg.registryType} package needs an exact "version" (e.g. "1.2.3")`,
      });
    }
  });
export type Package = z.infer<typeof PackageSchema>;

export const IconSchema = z.strictObject({
  src: z.url({ protocol: /^https$/, error: 'an icon src must be an https URL' }).max(255),
  mimeType: z
    .enum(['image/png', 'image/jpeg', 'image/jpg', 'image/svg+xml', 'image/webp'])
    .optional(),
  sizes: z.array(z.string().regex(/^(\d+x\d+|any)$/, 'like "48x48" or "any"')).optional(),
  theme: z.enum(['light', 'dark']).optional(),
});

export const RepositorySchema = z.strictObject({
  url: httpUrl,
  source: z.string().min(1),
  id: z.string().optional(),
  subfolder: z
    .string()
    .refine((s) => !s.startsWith('/') && !s.split('/').includes('..'), {
      message: 'must be a clean relative path (no leading "/", no "..")',
    })
    .optional(),
});

/** `_meta`: open for any reverse-DNS key; ours is validated. */
export const MetaSchema = z.looseObject({
  [PLATFORM_META_KEY]: PlatformSettingsSchema.optional(),
});

export const ServerJsonSchema = z.strictObject({
  $schema: z
    .string()
    .refine((s) => s === OFFICIAL_SCHEMA_URL, {
      message: `unsupported schema: use "${OFFICIAL_SCHEMA_URL}"`,
    })
    .optional(),
  name: z
    .string()
    .min(3)
    .max(200)
    .regex(
      /^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/,
      'must be reverse-DNS "namespace/name" with exactly one slash, e.g. "io.github.acme/weather"',
    ),
  title: z.string().min(1).max(100).optional(),
  description: z
    .string()
    .min(1, 'describe what the server does in one line')
    .max(100, 'at most 100 characters: keep it to one line'),
  version: specificVersion('server version'),
  websiteUrl: httpUrl.optional(),
  repository: RepositorySchema.optional(),
  icons: z.array(IconSchema).optional(),
  packages: z.array(PackageSchema).optional(),
  remotes: z.array(RemoteTransportSchema).optional(),
  _meta: MetaSchema.optional(),
});
export type ServerJson = z.infer<typeof ServerJsonSchema>;
