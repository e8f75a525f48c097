// What a registry change did: which slugs appeared, disappeared, or now have another spec.
import type { ServerSpec } from '../../registry/catalog/spec.ts';

export interface RegistryDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

/** JSON with object keys sorted, so two equal specs give the same text whatever the key order. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : v,
  );
}

export function diffSpecs(
  before: readonly ServerSpec[],
  after: readonly ServerSpec[],
): RegistryDiff {
  const old = new Map(before.map((spec) => [spec.slug, spec]));
  const next = new Map(after.map((spec) => [spec.slug, spec]));
  const added = [...next.keys()].filter((slug) => !old.has(slug)).sort();
  const removed = [...old.keys()].filter((slug) => !next.has(slug)).sort();
  const changed = [...next.entries()]
    .filter(
      ([slug, spec]) => old.has(slug) && stableStringify(old.get(slug)) !== stableStringify(spec),
    )
    .map(([slug]) => slug)
    .sort();
  return { added, removed, changed };
}

export function isEmptyDiff(diff: RegistryDiff): boolean {
  return diff.added.length + diff.removed.length + diff.changed.length === 0;
}
