// Compares two sides of a registry: which servers a change adds, changes and removes, and which
// rendered Kubernetes objects that touches, field by field. Pure: the renderer is passed in, so
// this runs on any pair of sides (the CLI renders with infra/render.ts).
import type { Problem, ServerSpec } from '../catalog/spec.ts';
import { SERVER_LABEL } from '../catalog/workload-names.ts';
import { diffValues, formatPath, slugInPath, type FieldChange } from './field-diff.ts';
import type { RegistrySide, ServerEntry } from './registry-side.ts';

export type Change = 'added' | 'changed' | 'removed';

/** One changed field; a side without the key means the field is absent there. */
export interface FieldDiff {
  /** `spec.template.spec.containers[name=server].image` (see field-diff.ts formatPath). */
  path: string;
  base?: unknown;
  head?: unknown;
}

export interface ObjectDiff {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  change: Change;
  /** The fields that differ (changed objects only; [] for added and removed ones). */
  fields: FieldDiff[];
  /** The whole object as rendered (added objects only). */
  object?: unknown;
}

export interface ServerDiff {
  slug: string;
  status: Change;
  /** The server's registry name (head's, else base's); absent when neither side compiles. */
  name?: string;
  version: { base?: string; head?: string };
  /**
   * Whether its objects were compared: false when a side's server.json does not compile, in
   * which case the server is left out of both renders (so it shows no object changes) and
   * `problems` says why.
   */
  compared: boolean;
  problems: { base: Problem[]; head: Problem[] };
  objects: ObjectDiff[];
}

export interface Comparison {
  servers: ServerDiff[];
  /** Objects, or fields of objects, that belong to no changed server (the Namespace, shards). */
  platform: ObjectDiff[];
  summary: {
    servers: Record<Change, number>;
    /** Each object counted once, however many servers its changes belong to. */
    objects: Record<Change, number>;
  };
}

export type Renderer = (specs: ServerSpec[]) => object[];

interface Rendered {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
}

function keyOf(object: Rendered): string {
  const { apiVersion, kind, metadata } = object;
  return `${apiVersion}\0${kind}\0${metadata.namespace ?? ''}\0${metadata.name}`;
}

function byKey(objects: object[]): Map<string, Rendered> {
  return new Map((objects as Rendered[]).map((object) => [keyOf(object), object]));
}

function compiles(entry: ServerEntry | undefined): boolean {
  return entry === undefined || (entry.spec !== undefined && entry.problems.length === 0);
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

function objectDiff(object: Rendered, change: Change, changes: FieldChange[]): ObjectDiff {
  const { apiVersion, kind, metadata } = object;
  const diff: ObjectDiff = { apiVersion, kind, name: metadata.name, change, fields: [] };
  if (metadata.namespace !== undefined) diff.namespace = metadata.namespace;
  for (const { path, ...sides } of changes) diff.fields.push({ path: formatPath(path), ...sides });
  if (change === 'added') diff.object = object;
  return diff;
}

function serverStatus(
  base: ServerEntry | undefined,
  head: ServerEntry | undefined,
): Change | undefined {
  if (!base) return 'added';
  if (!head) return 'removed';
  return sameBytes(base.bytes, head.bytes) ? undefined : 'changed';
}

export function compareRegistries(
  base: RegistrySide,
  head: RegistrySide,
  render: Renderer,
): Comparison {
  const slugs = [...new Set([...base.servers.keys(), ...head.servers.keys()])].sort();
  const servers = new Map<string, ServerDiff>();
  const baseSpecs: ServerSpec[] = [];
  const headSpecs: ServerSpec[] = [];
  for (const slug of slugs) {
    const [b, h] = [base.servers.get(slug), head.servers.get(slug)];
    const compared = compiles(b) && compiles(h);
    // A server that does not compile on one side is left out of both renders: comparing it
    // with nothing would show its live objects as added or removed, which no deploy would do.
    if (compared && b?.spec) baseSpecs.push(b.spec);
    if (compared && h?.spec) headSpecs.push(h.spec);
    const status = serverStatus(b, h);
    if (status === undefined) continue;
    const name = h?.spec?.name ?? b?.spec?.name;
    const diff: ServerDiff = {
      slug,
      ...(name === undefined ? {} : { name }),
      status,
      version: {},
      compared,
      problems: { base: b?.problems ?? [], head: h?.problems ?? [] },
      objects: [],
    };
    if (b?.spec) diff.version.base = b.spec.version;
    if (h?.spec) diff.version.head = h.spec.version;
    servers.set(slug, diff);
  }

  const platform: ObjectDiff[] = [];
  const counts: Record<Change, number> = { added: 0, changed: 0, removed: 0 };
  /** Files an object's change under the server it belongs to, or the platform. */
  const file = (owner: string | undefined, diff: ObjectDiff): void => {
    const server = owner === undefined ? undefined : servers.get(owner);
    (server?.objects ?? platform).push(diff);
  };
  const [before, after] = [byKey(render(baseSpecs)), byKey(render(headSpecs))];
  for (const [key, object] of after) {
    const old = before.get(key);
    const owner = object.metadata.labels?.[SERVER_LABEL];
    if (!old) {
      counts.added++;
      file(owner, objectDiff(object, 'added', []));
      continue;
    }
    const changes = diffValues(old, object);
    if (changes.length === 0) continue;
    counts.changed++;
    // The registry ConfigMap holds every server: each `[slug=<s>]` change belongs to <s>.
    const byOwner = new Map<string | undefined, FieldChange[]>();
    for (const change of changes) {
      const at = slugInPath(change.path) ?? owner;
      byOwner.set(at, [...(byOwner.get(at) ?? []), change]);
    }
    for (const [at, fields] of byOwner) file(at, objectDiff(object, 'changed', fields));
  }
  for (const [key, object] of before) {
    if (after.has(key)) continue;
    counts.removed++;
    file(object.metadata.labels?.[SERVER_LABEL], objectDiff(object, 'removed', []));
  }

  const serverCounts: Record<Change, number> = { added: 0, changed: 0, removed: 0 };
  for (const server of servers.values()) serverCounts[server.status]++;
  return {
    servers: [...servers.values()],
    platform,
    summary: { servers: serverCounts, objects: counts },
  };
}
