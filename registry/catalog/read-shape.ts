// Reads an officially valid document into the typed shape the compiler works on. What the
// shape cannot read (fields it does not know, allowed by the official schema and read by
// nobody here; values of an older revision's meaning) becomes a warning — with a "did you
// mean" hint for a misspelt field — and is dropped from what is compiled; the file is
// unchanged. Platform settings (`_meta["dev.mcpfleet/v1"]`) are the platform's own schema:
// anything wrong there is an error.
import { z } from 'zod';
import { ServerJsonSchema, type ServerJson } from './official-schema.ts';
import { PLATFORM_META_KEY } from './platform-schema.ts';
import { problemsFromZod } from './problems.ts';
import type { Problem } from './spec.ts';

export interface ShapeResult {
  document?: ServerJson;
  problems: Problem[];
  warnings: Problem[];
}

function inPlatformSettings(path: readonly PropertyKey[]): boolean {
  return path[0] === '_meta' && path[1] === PLATFORM_META_KEY;
}

/** Removes the value at `path` (a field, or an array element); false when there is none. */
function drop(document: unknown, path: readonly PropertyKey[]): boolean {
  let parent = document;
  for (const segment of path.slice(0, -1)) {
    if (parent === null || typeof parent !== 'object') return false;
    parent = (parent as Record<PropertyKey, unknown>)[segment];
  }
  const last = path.at(-1);
  if (parent === null || typeof parent !== 'object' || last === undefined) return false;
  if (!(last in parent)) return false;
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else delete (parent as Record<PropertyKey, unknown>)[last];
  return true;
}

/** Nesting is bounded (read-json.ts), so a few rounds always reach a fixed point. */
const MAX_ROUNDS = 16;

/**
 * A document the official schema accepted. Two kinds of things in it are not read, each with a
 * warning: fields the shape does not know, and values an older revision allowed where the
 * shape (the current revision's meaning) expects something else — e.g. `variables: 0` on a
 * remote of 2025-07-09, which did not define `variables` there.
 */
export function readShape(file: string, value: unknown): ShapeResult {
  const warnings: Problem[] = [];
  let current: unknown = value;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const parsed = ServerJsonSchema.safeParse(current);
    if (parsed.success) return { document: parsed.data, problems: [], warnings };
    const settings = parsed.error.issues.filter((issue) => inPlatformSettings(issue.path));
    if (settings.length > 0) {
      const problems = problemsFromZod(file, new z.ZodError(settings), ServerJsonSchema, current);
      return { problems: problems.map((p) => ({ ...p, rule: 'settings' as const })), warnings };
    }
    if (current === value) current = structuredClone(value);
    const unread: z.core.$ZodIssue[] = [];
    const errors: z.core.$ZodIssue[] = [];
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        unread.push(issue);
        for (const key of issue.keys) drop(current, [...issue.path, key]);
      } else if (drop(current, issue.path)) {
        unread.push(issue);
      } else errors.push(issue);
    }
    if (errors.length > 0) {
      // Something the shape needs is missing although the official schema accepted the
      // document: a disagreement, which the differential test exists to catch.
      return {
        problems: problemsFromZod(file, new z.ZodError(errors), ServerJsonSchema, current),
        warnings,
      };
    }
    warnings.push(
      ...problemsFromZod(file, new z.ZodError(unread), ServerJsonSchema, value).map((p) =>
        p.rule === 'unknown-field'
          ? p
          : {
              ...p,
              rule: 'unread-value' as const,
              message: `mcpfleet cannot read this value and ignores it: ${p.message}`,
            },
      ),
    );
  }
  return { problems: [{ file, path: '$', message: 'too many unreadable fields' }], warnings };
}
