// The registry catalog: load + validate + compile server.json files into ServerSpecs.
export { loadRegistry, checkServerJson, SLUG_PATTERN, type RegistryResult } from './load.ts';
export { compileServer } from './compile.ts';
export { formatProblem } from './problems.ts';
export { parseDuration } from './duration.ts';
export {
  serverJsonSchema,
  serverJsonSchemaText,
  editorSettingsText,
  EDITOR_SETTINGS_PATH,
  PUBLISHED_SCHEMA_PATH,
} from './json-schema.ts';
export { PLATFORM_META_KEY, DEFAULTS } from './platform-schema.ts';
export { OFFICIAL_SCHEMA_URL, REGISTRY_TYPES } from './official-schema.ts';
export type * from './spec.ts';
