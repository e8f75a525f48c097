// Older official revisions, read as the current one. The first published revision
// (2025-07-09) spelt fields in snake_case; every later one uses camelCase for the same fields
// (and the same meaning), so a document of that revision is renamed, field by field, before
// the compiler reads it. The file itself is never rewritten. `_meta` (anyone's keys) and the
// names of `variables` (the author's own) are left as they are.
import type { OfficialRevision } from './official-validator.ts';

const SNAKE_CASE_FIELDS: Record<string, string> = {
  environment_variables: 'environmentVariables',
  file_sha256: 'fileSha256',
  is_repeated: 'isRepeated',
  is_required: 'isRequired',
  is_secret: 'isSecret',
  package_arguments: 'packageArguments',
  registry_base_url: 'registryBaseUrl',
  registry_type: 'registryType',
  runtime_arguments: 'runtimeArguments',
  runtime_hint: 'runtimeHint',
  value_hint: 'valueHint',
  website_url: 'websiteUrl',
};

const SNAKE_CASE_REVISIONS: ReadonlySet<OfficialRevision> = new Set(['2025-07-09']);

function renamed(value: unknown, namesAreTheAuthors = false): unknown {
  if (Array.isArray(value)) return value.map((item) => renamed(item));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (namesAreTheAuthors) {
      out[key] = renamed(inner);
      continue;
    }
    const name = SNAKE_CASE_FIELDS[key] ?? key;
    out[name] = key === '_meta' ? inner : renamed(inner, name === 'variables');
  }
  return out;
}

/** The document with the current revision's field names (a copy when anything changes). */
export function asCurrentRevision(document: unknown, revision: OfficialRevision): unknown {
  return SNAKE_CASE_REVISIONS.has(revision) ? renamed(document) : document;
}
