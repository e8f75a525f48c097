// Differential: the official server.json JSON Schema (vendored, run by ajv, a standards-compliant
// validator set up here on its own) and mcpfleet's checker judge the same documents — real ones
// from the official registry's documentation and seed data, the starter registry, and thousands
// of generated mutations of them. The rule under test: whatever the official schema accepts,
// mcpfleet accepts on schema grounds, refusing it only by a documented platform rule; whatever
// the official schema refuses, mcpfleet refuses.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { checkServerJson, type Problem } from '../../registry/catalog/index.ts';
import { PLATFORM_RULES } from '../../registry/catalog/platform-rules.ts';
import { OFFICIAL_REVISIONS } from '../../registry/catalog/official-validator.ts';

const SCHEMA_DIR = 'registry/catalog/official-schemas';
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
const officialSchemas = new Map<string, ValidateFunction>(
  readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      const schema = JSON.parse(readFileSync(`${SCHEMA_DIR}/${f}`, 'utf8')) as { $id: string };
      return [schema.$id, ajv.compile(schema)];
    }),
);
const LATEST = [...officialSchemas.keys()].sort().at(-1) as string;

/** The official verdict: the schema the document names, the latest when it names none. */
function officiallyValid(document: unknown): boolean {
  const named = (document as { $schema?: unknown } | null)?.$schema;
  const validate = officialSchemas.get(typeof named === 'string' ? named : LATEST);
  return (validate ?? (officialSchemas.get(LATEST) as ValidateFunction))(document);
}

interface Example {
  source: string;
  document: Record<string, unknown>;
}
const examples = JSON.parse(
  readFileSync('test/fixtures/official-examples/examples.json', 'utf8'),
) as Example[];
const starter: Example[] = readdirSync('registry/servers').map((slug) => ({
  source: `registry/servers/${slug}`,
  document: JSON.parse(readFileSync(`registry/servers/${slug}/server.json`, 'utf8')) as Record<
    string,
    unknown
  >,
}));
const corpus = [...examples, ...starter];

const documentedRules = new Set<string>(Object.keys(PLATFORM_RULES));

interface Disagreement {
  document: unknown;
  official: boolean;
  errors: Problem[];
}

/** Undefined when both judges agree, or when mcpfleet's refusal is a documented platform rule. */
function disagreement(document: unknown): Disagreement | undefined {
  const bytes = Buffer.from(JSON.stringify(document));
  const { problems: errors } = checkServerJson(bytes, 'differential/server.json', 'differential');
  const official = officiallyValid(document);
  if (!official) return errors.length > 0 ? undefined : { document, official, errors };
  const undocumented = errors.filter((e) => e.rule === undefined || !documentedRules.has(e.rule));
  return undocumented.length === 0 ? undefined : { document, official, errors: undocumented };
}

function explain(found: Disagreement): string {
  return `${found.official ? 'officially valid, refused by' : 'officially invalid, accepted by'} mcpfleet:\n${found.errors
    .map((e) => `  ${e.path}: ${e.message} [${e.rule ?? 'no rule'}]`)
    .join('\n')}\n${JSON.stringify(found.document).slice(0, 1500)}`;
}

// Fields real server.json files carry that no official revision names (seen in public repos),
// and field names of other places in the format, put where they do not belong.
const STRAY_FIELDS = [
  'license',
  'status',
  'tools',
  'displayName',
  'valueHint',
  'name',
  'required',
  'runtime',
  'pakages',
  'registryType',
  'type',
  'url',
  'value',
  'isSecret',
];

type Path = (string | number)[];

/** Every object and array in a document, by path: where a mutation can land. */
function containers(value: unknown, path: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const entries = Array.isArray(value)
    ? value.map((v, i) => [i, v] as const)
    : Object.entries(value);
  return [path, ...entries.flatMap(([key, inner]) => containers(inner, [...path, key]))];
}

function at(document: unknown, path: Path): unknown {
  return path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], document);
}

type Mutation =
  | { kind: 'add'; where: number; field: string; value: unknown }
  | { kind: 'delete'; where: number; which: number }
  | { kind: 'replace'; where: number; which: number; value: unknown }
  | { kind: 'schema'; value: string };

function apply(source: unknown, mutation: Mutation): unknown {
  const document = structuredClone(source) as Record<string, unknown>;
  if (mutation.kind === 'schema') {
    document.$schema = mutation.value;
    return document;
  }
  const places = containers(document);
  const target = at(document, places[mutation.where % places.length] as Path) as Record<
    string | number,
    unknown
  >;
  if (mutation.kind === 'add') {
    if (!Array.isArray(target)) target[mutation.field] = mutation.value;
    return document;
  }
  const keys = Array.isArray(target) ? target.map((_, i) => i) : Object.keys(target);
  if (keys.length === 0) return document;
  const key = keys[mutation.which % keys.length] as string | number;
  if (mutation.kind === 'delete') {
    if (Array.isArray(target)) target.splice(key as number, 1);
    else delete target[key];
  } else target[key] = mutation.value;
  return document;
}

const revisions = [...officialSchemas.keys()];
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('latest', '^1.2.3', '1.x', 'not a url', 'https://example.com/x', '', 'oci'),
  fc.webUrl(),
);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('add' as const),
    where: fc.nat(),
    field: fc.oneof(fc.constantFrom(...STRAY_FIELDS), fc.string({ maxLength: 12 })),
    value: anyValue,
  }),
  fc.record({ kind: fc.constant('delete' as const), where: fc.nat(), which: fc.nat() }),
  fc.record({
    kind: fc.constant('replace' as const),
    where: fc.nat(),
    which: fc.nat(),
    value: anyValue,
  }),
  fc.record({
    kind: fc.constant('schema' as const),
    value: fc.constantFrom(...revisions, 'https://example.com/schema.json'),
  }),
);

describe('the official schema and mcpfleet judge alike (differential)', () => {
  it('the vendored schemas are the revisions the checker knows, 2025-07-09 to 2025-12-11', () => {
    const vendored = revisions.map((id) => /schemas\/([\d-]+)\//.exec(id)?.[1]).sort();
    assert.deepEqual(vendored, [...OFFICIAL_REVISIONS]);
    assert.deepEqual([vendored[0], vendored.at(-1)], ['2025-07-09', '2025-12-11']);
  });

  it(`the official examples and the starter registry (${corpus.length} real documents)`, () => {
    assert.ok(examples.length >= 20, 'the examples are there');
    const found = corpus.map((e) => disagreement(e.document)).filter((d) => d !== undefined);
    assert.deepEqual(found.map(explain), []);
    // Both judges must have something to say: most of these are officially valid.
    assert.ok(corpus.filter((e) => officiallyValid(e.document)).length >= corpus.length - 2);
  });

  it('thousands of mutations of them: stray fields, deletions, replaced values, other revisions', () => {
    let refusedOfficially = 0;
    let total = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...corpus),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (example, mutations) => {
          const document = mutations.reduce<unknown>(apply, example.document);
          total++;
          if (!officiallyValid(document)) refusedOfficially++;
          const found = disagreement(document);
          if (found) assert.fail(explain(found));
        },
      ),
      { numRuns: Number(process.env.DIFFERENTIAL_RUNS ?? 3000) },
    );
    // The generator reaches both sides of the official line, or the test proves little.
    assert.ok(
      refusedOfficially > total * 0.1,
      `${refusedOfficially} of ${total} refused officially`,
    );
    assert.ok(
      refusedOfficially < total * 0.9,
      `${refusedOfficially} of ${total} refused officially`,
    );
  });
});
