// The official judge of server.json: the MCP registry's own JSON Schemas (every published
// revision, vendored verbatim under official-schemas/), run by a standards-compliant validator.
// Whatever these schemas accept, mcpfleet accepts on schema grounds; what they refuse is an
// error here, in words a person can act on. The platform's own rules (what it cannot deploy)
// are judged after this, on documents the official schema accepted (see compile.ts).
//
// The schemas come from github.com/modelcontextprotocol/registry@v1.8.9,
// internal/validators/schemas/ (synced there from modelcontextprotocol/static, which serves
// them at the URLs below); see official-schemas/README.md.
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import type { Problem } from './spec.ts';
import { describeType } from './problems.ts';
import { joinPath } from './read-json.ts';

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

/** Every official revision, oldest first. The last is what a document without `$schema` means. */
export const OFFICIAL_REVISIONS = [
  '2025-07-09',
  '2025-09-16',
  '2025-09-29',
  '2025-10-11',
  '2025-10-17',
  '2025-12-11',
] as const;
export type OfficialRevision = (typeof OFFICIAL_REVISIONS)[number];
export const LATEST_REVISION: OfficialRevision = '2025-12-11';

export function schemaUrlOf(revision: OfficialRevision): string {
  return `https://static.modelcontextprotocol.io/schemas/${revision}/server.schema.json`;
}

/** The revision a `$schema` value names, or undefined when it names none we know. */
export function revisionOf(schemaUrl: string): OfficialRevision | undefined {
  return OFFICIAL_REVISIONS.find((revision) => schemaUrlOf(revision) === schemaUrl);
}

// One validator instance and one compiled function per revision, made on first use: the
// controller checks registries at start and on every change, the CLI once.
let ajv: Ajv | undefined;
const compiled = new Map<OfficialRevision, ValidateFunction>();

function validatorFor(revision: OfficialRevision): ValidateFunction {
  let validate = compiled.get(revision);
  if (!validate) {
    // strict: false because the official schemas use annotation keywords draft-07 does not
    // define (`example`); they carry no constraint, and refusing them would refuse the schema.
    ajv ??= addFormats(new Ajv({ allErrors: true, strict: false, verbose: true }));
    const file = new URL(`./official-schemas/${revision}.json`, import.meta.url);
    validate = ajv.compile(JSON.parse(readFileSync(file, 'utf8')) as object);
    compiled.set(revision, validate);
  }
  return validate;
}

export interface OfficialVerdict {
  revision: OfficialRevision;
  /** What the official schema refuses (empty: the document is officially valid). */
  errors: Problem[];
  /** A `$schema` that names no official revision: judged by the latest, and said so. */
  warnings: Problem[];
}

/** Judges a parsed document with the official schema of the revision it names. */
export function judgeOfficially(file: string, document: Record<string, unknown>): OfficialVerdict {
  const declared = document.$schema;
  const warnings: Problem[] = [];
  let revision = LATEST_REVISION;
  if (typeof declared === 'string') {
    const known = revisionOf(declared);
    if (known) revision = known;
    else {
      warnings.push({
        file,
        path: '$schema',
        rule: 'unknown-revision',
        message: `"${declared}" is not an official server.json schema revision; checked against the latest (${schemaUrlOf(LATEST_REVISION)}), which you can name here`,
      });
    }
  }
  const validate = validatorFor(revision);
  if (validate(document)) return { revision, errors: [], warnings };
  return { revision, errors: describeErrors(file, validate.errors ?? []), warnings };
}

/** `/packages/0/version` → `packages[0].version`, the paths every other problem uses. */
function pathOfPointer(pointer: string): string {
  let path = '$';
  if (pointer === '') return path;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    path = joinPath(path, /^(0|[1-9]\d*)$/.test(segment) ? Number(segment) : segment);
  }
  return path;
}

/**
 * Keeps, for each failed anyOf/oneOf, only the errors of its closest branch (the one with the
 * fewest errors: what the author most likely meant) and drops the union's own summary error.
 * Without this a wrong argument is reported once per variant it fails to be.
 */
function closestBranches(errors: ErrorObject[]): ErrorObject[] {
  let kept = errors;
  const unions = errors
    .filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
    .sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const union of unions) {
    if (!kept.includes(union)) continue;
    const prefix = `${union.schemaPath}/`;
    const byBranch = new Map<string, ErrorObject[]>();
    for (const error of kept) {
      if (!error.schemaPath.startsWith(prefix)) continue;
      const branch = error.schemaPath.slice(prefix.length).split('/')[0] as string;
      byBranch.set(branch, [...(byBranch.get(branch) ?? []), error]);
    }
    const branches = [...byBranch.values()].sort((a, b) => a.length - b.length);
    const closest = branches[0];
    // A union no branch explains (e.g. a string where an object was expected) keeps its
    // summary; otherwise the closest branch's own errors say more than "must match a schema".
    const dropped = new Set<ErrorObject>(branches.slice(1).flat());
    if (closest && closest.length > 0) dropped.add(union);
    kept = kept.filter((e) => !dropped.has(e));
  }
  return kept;
}

/** The fix, in the official schema's own words where it has them. */
function hintOf(error: ErrorObject): string {
  const schema = error.parentSchema as
    { description?: unknown; properties?: Record<string, { description?: unknown }> } | undefined;
  // A missing field is explained by its own description, not by its parent object's.
  const missing = (error.params as { missingProperty?: string }).missingProperty;
  const description =
    missing === undefined ? schema?.description : schema?.properties?.[missing]?.description;
  if (typeof description !== 'string') return '';
  const firstSentence = /^[^\n]*?[.](\s|$)/.exec(description)?.[0].trim() ?? description;
  return firstSentence.length <= 200 ? ` (${firstSentence.replace(/\.$/, '')})` : '';
}

/**
 * The fix for refusals people make most, by field and keyword, where the schema's description
 * alone does not say what to write.
 */
const FIXES: Record<string, string> = {
  'name:pattern':
    'must be reverse-DNS "namespace/name" with exactly one slash, e.g. "io.github.acme/weather"',
  'description:maxLength': 'at most 100 characters: keep it to one line',
  'version:not':
    '"latest" is not a version: pin an exact package version (e.g. "1.2.3") so deploys are reproducible',
  'fileSha256:pattern': 'must be 64 lowercase hex characters (sha256sum of the file)',
};

function messageOf(error: ErrorObject): string {
  const field = /[^/]*$/.exec(error.instancePath)?.[0] ?? '';
  const fix = FIXES[`${field}:${error.keyword}`];
  return fix ? `${fix} (got ${JSON.stringify(error.data)})` : describe(error);
}

function describe(error: ErrorObject): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `required field is missing${hintOf(error)}`;
    case 'type':
      return `expected ${String(p.type)}, got ${describeType(error.data)}${hintOf(error)}`;
    case 'pattern':
      return `${JSON.stringify(error.data)} does not match ${String(p.pattern)}${hintOf(error)}`;
    case 'format':
      return `${JSON.stringify(error.data)} is not a valid ${String(p.format)}${hintOf(error)}`;
    case 'enum':
      return `${JSON.stringify(error.data)} is not allowed: use one of ${(
        p.allowedValues as unknown[]
      )
        .map((v) => JSON.stringify(v))
        .join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`;
    case 'maxLength':
      return `at most ${String(p.limit)} characters (this is ${String((error.data as string).length)})${hintOf(error)}`;
    case 'minLength':
      return `at least ${String(p.limit)} character${p.limit === 1 ? '' : 's'}${hintOf(error)}`;
    case 'additionalProperties':
      return `field "${String(p.additionalProperty)}" is not allowed by this schema revision; remove it or name a newer revision in "$schema"`;
    case 'not':
      return `${JSON.stringify(error.data)} is not allowed here${hintOf(error)}`;
    default:
      return `${error.message ?? 'is invalid'}${hintOf(error)}`;
  }
}

/** One problem per error; the same fact reported by two allOf branches is merged by load.ts. */
function describeErrors(file: string, errors: ErrorObject[]): Problem[] {
  return closestBranches(errors).map((error) => {
    // A missing or extra field is reported at that field, as a person looks for it.
    const params = error.params as { missingProperty?: string; additionalProperty?: string };
    const field =
      error.keyword === 'required'
        ? params.missingProperty
        : error.keyword === 'additionalProperties'
          ? params.additionalProperty
          : undefined;
    const at = pathOfPointer(error.instancePath);
    const path = field === undefined ? at : joinPath(at, field);
    return { file, path, rule: 'official-schema', message: messageOf(error) };
  });
}
