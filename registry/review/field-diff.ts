// A small deep diff of two rendered Kubernetes objects: which fields changed, by path, with
// both values. Two things make it read like a reviewer thinks (and why no generic library):
// lists of named items (containers, env, ports, volumes; the registry ConfigMap's servers by
// slug) are matched by name, not position, so adding one env var is one change rather than a
// shifted list; and a string holding JSON (the ConfigMap's servers.json) is compared as the
// JSON inside it, so a version bump is `…[slug=fetch].version`, not a 40 kB string.
import { isDeepStrictEqual } from 'node:util';

/** A property name, a list position, or a list item picked by its name (`[name=server]`). */
export type Segment = string | number | { key: string; value: string };

/** One changed field. A side without the key means the field is absent there. */
export interface FieldChange {
  path: Segment[];
  base?: unknown;
  head?: unknown;
}

/** The properties that name list items, tried in this order. */
const IDENTITY_KEYS = ['slug', 'name'] as const;

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The key every item of both lists has, with a value unique within each list; if any. */
function identityKey(base: unknown[], head: unknown[]): string | undefined {
  return IDENTITY_KEYS.find((key) =>
    [base, head].every((list) => {
      const names = list.map((item) => (isPlain(item) ? item[key] : undefined));
      return names.every((n) => typeof n === 'string') && new Set(names).size === names.length;
    }),
  );
}

/** The JSON a string holds when it is a JSON object or array, else undefined. */
function embeddedJson(text: string): unknown {
  if (!/^\s*[[{]/.test(text)) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function diffKeyed(
  key: string,
  base: Plain[],
  head: Plain[],
  path: Segment[],
  out: FieldChange[],
): void {
  const baseByName = new Map(base.map((item) => [item[key] as string, item]));
  const headByName = new Map(head.map((item) => [item[key] as string, item]));
  // Head order first (what will be), then what is gone.
  for (const [name, item] of headByName) {
    const at = [...path, { key, value: name }];
    const before = baseByName.get(name);
    if (before === undefined) out.push({ path: at, head: item });
    else diffValues(before, item, at, out);
  }
  for (const [name, item] of baseByName) {
    if (!headByName.has(name)) out.push({ path: [...path, { key, value: name }], base: item });
  }
}

/** Every field that differs between `base` and `head`, appended to `out` in head order. */
export function diffValues(
  base: unknown,
  head: unknown,
  path: Segment[] = [],
  out: FieldChange[] = [],
): FieldChange[] {
  if (isDeepStrictEqual(base, head)) return out;
  if (typeof base === 'string' && typeof head === 'string') {
    const [b, h] = [embeddedJson(base), embeddedJson(head)];
    if (b !== undefined && h !== undefined) return diffValues(b, h, path, out);
  } else if (isPlain(base) && isPlain(head)) {
    for (const key of Object.keys(head)) {
      if (!(key in base)) out.push({ path: [...path, key], head: head[key] });
      else diffValues(base[key], head[key], [...path, key], out);
    }
    for (const key of Object.keys(base)) {
      if (!(key in head)) out.push({ path: [...path, key], base: base[key] });
    }
    return out;
  } else if (Array.isArray(base) && Array.isArray(head)) {
    const key = identityKey(base, head);
    if (key !== undefined) {
      diffKeyed(key, base as Plain[], head as Plain[], path, out);
      return out;
    }
    // Same length: position by position (a changed argument). Otherwise the list as a whole:
    // an inserted argument would make every later position look changed.
    if (base.length === head.length) {
      base.forEach((item, index) => diffValues(item, head[index], [...path, index], out));
      return out;
    }
  }
  out.push({ path, base, head });
  return out;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `spec.template.spec.containers[name=server].image`, `metadata.labels["app.kubernetes.io/version"]`. */
export function formatPath(path: readonly Segment[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (typeof segment === 'object') text += `[${segment.key}=${segment.value}]`;
    else if (IDENTIFIER.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/** The server a field belongs to by its path: a `[slug=<s>]` item (the registry ConfigMap). */
export function slugInPath(path: readonly Segment[]): string | undefined {
  for (const segment of path) {
    if (typeof segment === 'object' && segment.key === 'slug') return segment.value;
  }
  return undefined;
}
