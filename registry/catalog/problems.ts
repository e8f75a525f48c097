// Turns zod issues into located problems a person can act on: the JSON path as written in
// server.json, what is wrong, and how to fix it.
import type { z } from 'zod';
import type { Problem } from './spec.ts';
import { joinPath } from './read-json.ts';

/** `file:line:column: path: message`, the shape editors and terminals link to the spot. */
export function formatProblem(problem: Problem): string {
  const at = problem.line === undefined ? '' : `:${problem.line}:${problem.column ?? 1}`;
  return `${problem.file}${at}: ${problem.path}: ${problem.message}`;
}

export function pathOf(segments: readonly PropertyKey[]): string {
  let path = '$';
  for (const segment of segments) {
    path = joinPath(path, typeof segment === 'number' ? segment : String(segment));
  }
  return path;
}

/** Levenshtein distance, for "did you mean" hints on misspelt field names. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min(
        current + 1,
        (row[j - 1] as number) + 1,
        previous + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      previous = current;
    }
  }
  return row[b.length] as number;
}

export function didYouMean(word: string, candidates: readonly string[]): string {
  // A shortened name ("website" for "websiteUrl") is as likely a slip as a typo.
  const lower = word.toLowerCase();
  const extended = candidates.find((c) => lower.length >= 4 && c.toLowerCase().startsWith(lower));
  if (extended !== undefined) return ` (did you mean "${extended}"?)`;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3))
    ? ` (did you mean "${best}"?)`
    : '';
}

/** Keys a strict object at `path` accepts, found by walking the schema: for the hints. */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.ZodType | undefined = schema;
  for (const segment of path) {
    current = unwrap(current);
    if (!current) return [];
    const def = (current as unknown as { def: Record<string, unknown> }).def;
    if (def.type === 'object') {
      current = (def.shape as Record<string, z.ZodType>)[String(segment)];
    } else if (def.type === 'array') {
      current = def.element as z.ZodType;
    } else if (def.type === 'record') {
      current = def.valueType as z.ZodType;
    } else if (def.type === 'union') {
      const options = def.options as z.ZodType[];
      const objects = options
        .map(unwrap)
        .filter((o) => o && (o as unknown as { def: { type: string } }).def.type === 'object');
      current = objects
        .map(
          (o) =>
            (o as unknown as { def: { shape: Record<string, z.ZodType> } }).def.shape[
              String(segment)
            ],
        )
        .find((s) => s !== undefined);
    } else {
      return [];
    }
  }
  current = unwrap(current);
  const def = (current as unknown as { def?: Record<string, unknown> } | undefined)?.def;
  if (def?.type === 'object') return Object.keys(def.shape as object);
  if (def?.type === 'union') {
    return (def.options as z.ZodType[]).flatMap((o) => {
      const d = (unwrap(o) as unknown as { def?: Record<string, unknown> } | undefined)?.def;
      return d?.type === 'object' ? Object.keys(d.shape as object) : [];
    });
  }
  return [];
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  for (let i = 0; i < 10 && current; i++) {
    const def = (current as unknown as { def: Record<string, unknown> }).def;
    if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default') {
      current = def.innerType as z.ZodType;
    } else if (def.type === 'pipe') {
      current = def.in as z.ZodType;
    } else {
      return current;
    }
  }
  return current;
}

/** "a number", "an array", "null": what a value is, for "expected X, got Y". */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function valueAt(document: unknown, path: readonly PropertyKey[]): unknown {
  let current = document;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

/** One Problem per zod issue (unions are flattened to the branch that matched best). */
export function problemsFromZod(
  file: string,
  error: z.ZodError,
  schema: z.ZodType,
  document: unknown,
): Problem[] {
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const candidates = [...new Set(knownKeys(schema, issue.path))];
      for (const key of issue.keys) {
        // A key valid in another variant of a union (e.g. valueHint on a named argument).
        const message = candidates.includes(key)
          ? `field "${key}" is not read in this kind of object; mcpfleet ignores it: remove it`
          : `unknown field "${key}"${didYouMean(key, candidates)}; mcpfleet ignores it: remove it or fix its name${
              candidates.length ? ` (known: ${candidates.join(', ')})` : ''
            }`;
        problems.push({ file, path: pathOf([...issue.path, key]), rule: 'unknown-field', message });
      }
      continue;
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Report the branch with the fewest issues: the one the author most likely meant.
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? [];
      for (const inner of best) {
        problems.push({
          file,
          path: pathOf([...issue.path, ...inner.path]),
          message: inner.message,
        });
      }
      continue;
    }
    let message = issue.message;
    if (issue.code === 'invalid_type') {
      const actual = valueAt(document, issue.path);
      message =
        actual === undefined
          ? `required field is missing (expected ${issue.expected})`
          : `expected ${issue.expected}, got ${describeType(actual)}`;
    }
    problems.push({ file, path: pathOf(issue.path), message });
  }
  return problems;
}
