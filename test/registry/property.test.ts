// Property-based: thousands of random and mutated documents. Whatever goes in, the checker
// returns either a spec or located problems — never a throw, never both, never neither.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { checkServerJson } from '../../registry/catalog/index.ts';

const starter = [
  'everything',
  'everything-http',
  'filesystem',
  'fetch',
  'github',
  'shebe',
  'deepwiki',
  'memory',
].map(
  (slug) => JSON.parse(readFileSync(`registry/servers/${slug}/server.json`, 'utf8')) as unknown,
);

function assertWellFormed(bytes: Uint8Array): void {
  let result: ReturnType<typeof checkServerJson>;
  try {
    result = checkServerJson(bytes, 'fuzz/server.json', 'fuzz');
  } catch (error) {
    assert.fail(
      `checker threw on ${Buffer.from(bytes).toString('utf8').slice(0, 300)}: ${String(error)}`,
    );
  }
  const hasSpec = result.spec !== undefined;
  const hasProblems = result.problems.length > 0;
  assert.ok(hasSpec !== hasProblems, 'exactly one of: a spec, or problems');
  for (const p of result.problems) {
    assert.equal(p.file, 'fuzz/server.json');
    assert.equal(typeof p.path, 'string');
    assert.ok(p.path.length > 0);
    assert.ok(typeof p.message === 'string' && p.message.length > 0);
  }
}

/** Replaces the value at a random path of a document with an arbitrary JSON value. */
function mutate(doc: unknown, choices: number[], replacement: unknown): unknown {
  if (choices.length === 0 || doc === null || typeof doc !== 'object') return replacement;
  const keys = Array.isArray(doc) ? doc.map((_, i) => i) : Object.keys(doc);
  if (keys.length === 0) return replacement;
  const [first, ...rest] = choices;
  const key = keys[(first as number) % keys.length] as string | number;
  const copy = (Array.isArray(doc) ? [...doc] : { ...doc }) as Record<string | number, unknown>;
  copy[key] = mutate((doc as Record<string | number, unknown>)[key], rest, replacement);
  return copy;
}

describe('registry checker properties', () => {
  it('random JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        assertWellFormed(Buffer.from(JSON.stringify(value) ?? 'null'));
      }),
      { numRuns: 2000 },
    );
  });

  it('random bytes and strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.string({ maxLength: 300 }).map((s) => Buffer.from(s)),
        ),
        (bytes) => {
          assertWellFormed(bytes);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('starter documents with one value replaced anywhere', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...starter),
        fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
        fc.jsonValue({ maxDepth: 3 }),
        (doc, choices, replacement) => {
          assertWellFormed(Buffer.from(JSON.stringify(mutate(doc, choices, replacement))));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('starter documents with text truncated or spliced', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...starter),
        fc.nat(),
        fc.string({ maxLength: 8 }),
        (doc, cut, insert) => {
          const text = JSON.stringify(doc);
          const at = cut % (text.length + 1);
          assertWellFormed(
            Buffer.from(text.slice(0, at) + insert + text.slice(at + insert.length)),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });
});
