// `mcpfleet registry add`: one server from an MCP registry into registry/servers/<slug>/,
// its server.json exactly as the registry serves it plus the settings skeleton, then the
// same check `registry check` runs, on that file as written.
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkServerJson, SERVER_FILE } from '../catalog/load.ts';
import type { Problem } from '../catalog/spec.ts';
import {
  OFFICIAL_META_KEY,
  RegistryNotFoundError,
  type RegistryClient,
  type ServerResponse,
} from './registry-api.ts';
import { buildSkeleton, settingsOf, withSettings, type Need } from './skeleton.ts';
import { slugFromName, slugProblem } from './slug.ts';

/** The official name format: reverse-DNS namespace, one slash, name. */
const SERVER_NAME = /^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/;

export interface ServerRef {
  name: string;
  /** An exact version, or undefined for the latest. */
  version?: string;
}

/** `io.github.acme/weather` or `io.github.acme/weather@1.2.3`. */
export function parseServerRef(text: string): ServerRef {
  const at = text.indexOf('@');
  const name = at < 0 ? text : text.slice(0, at);
  const version = at < 0 ? undefined : text.slice(at + 1);
  if (!SERVER_NAME.test(name)) {
    throw new Error(
      `"${name}" is not a server name: registry names are reverse-DNS "namespace/name", ` +
        'e.g. io.github.github/github-mcp-server (find one with: mcpfleet registry search <text>)',
    );
  }
  if (version === '') {
    throw new Error(`"${text}" names no version after "@": give one, e.g. ${name}@1.2.3`);
  }
  return { name, ...(version !== undefined && version !== 'latest' ? { version } : {}) };
}

export interface AddOptions {
  ref: ServerRef;
  /** The registry directory holding <slug>/server.json. */
  dir: string;
  slug?: string;
  force: boolean;
}

export interface AddResult {
  /** The written file, as problems name it. */
  file: string;
  slug: string;
  entry: ServerResponse;
  /** The settings of the replaced file were kept (--force over an existing server). */
  keptSettings: boolean;
  placeholders: Need[];
  optional: Need[];
  problems: Problem[];
  warnings: Problem[];
}

/** How paths appear in messages: relative to the working directory when inside it. */
function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** A file's JSON, or undefined when it is missing or no JSON object (the check says why). */
async function readJsonObject(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The registry's entry for the ref. A 404 for one version is told apart from a 404 for the
 * name: the versions that do exist are what the person needs next.
 */
async function fetchEntry(client: RegistryClient, ref: ServerRef): Promise<ServerResponse> {
  try {
    return await client.getServer(ref.name, ref.version ?? 'latest');
  } catch (err) {
    if (!(err instanceof RegistryNotFoundError) || ref.version === undefined) throw err;
    const versions = (await client.listVersions(ref.name)).servers.map((s) => s.server.version);
    throw new RegistryNotFoundError(
      `${ref.name} has no version ${ref.version} in ${client.url}; it has: ${versions.join(', ')}`,
    );
  }
}

/** Another directory that registers the same name: the check would refuse both. */
async function sameNameElsewhere(dir: string, name: string, slug: string) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === slug || entry.name.startsWith('.')) continue;
    const document = await readJsonObject(path.join(dir, entry.name, SERVER_FILE));
    if (document?.name === name) return entry.name;
  }
  return undefined;
}

/** Where the server goes, refusing what would clobber or duplicate a registered one. */
async function targetOf(options: AddOptions, name: string): Promise<{ slug: string; dir: string }> {
  const slug = options.slug ?? slugFromName(name);
  if (slug === undefined) {
    throw new Error(`cannot make a slug from "${name}": choose one with --slug <slug>`);
  }
  const refused = options.slug !== undefined ? slugProblem(options.slug) : undefined;
  if (refused) throw new Error(refused);
  if (
    !(await stat(options.dir).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    throw new Error(
      `registry directory ${options.dir} does not exist: pass --dir <the directory holding <slug>/server.json folders>`,
    );
  }
  const dir = path.join(options.dir, slug);
  if ((await exists(dir)) && !options.force) {
    throw new Error(
      `${shown(dir)} already exists: pass --force to replace its server.json (its settings are kept), or --slug <slug> to add this server under another name`,
    );
  }
  const other = await sameNameElsewhere(options.dir, name, slug);
  if (other !== undefined) {
    throw new Error(
      `${name} is already registered as ${shown(path.join(options.dir, other))}; each name is registered once (replace it with --slug ${other} --force)`,
    );
  }
  return { slug, dir };
}

export async function addServer(client: RegistryClient, options: AddOptions): Promise<AddResult> {
  // Where it goes is known from the name: refuse a clash before asking the registry.
  const { slug, dir } = await targetOf(options, options.ref.name);
  const entry = await fetchEntry(client, options.ref);
  const server = entry.server;
  if (server.name !== options.ref.name) {
    throw new Error(
      `the registry at ${client.url} answered for ${options.ref.name} with a server named ${server.name}; not writing it`,
    );
  }
  const file = path.join(dir, SERVER_FILE);
  // --force over a server already here keeps its settings: replacing is how one upgrades.
  const replaced = (await exists(file)) ? await readJsonObject(file) : undefined;
  const kept = replaced ? settingsOf(replaced) : undefined;
  const skeleton = buildSkeleton(server, kept ?? settingsOf(server) ?? {});

  await mkdir(dir, { recursive: true });
  await writeFile(file, `${JSON.stringify(withSettings(server, skeleton.settings), null, 2)}\n`);
  const check = checkServerJson(await readFile(file), shown(file), slug);
  return {
    file: shown(file),
    slug,
    entry,
    keptSettings: kept !== undefined,
    placeholders: skeleton.placeholders,
    optional: skeleton.optional,
    problems: check.problems,
    // Warnings (what the official schema allows and mcpfleet does not read) when the check has them.
    warnings: (check as { warnings?: Problem[] }).warnings ?? [],
  };
}

/** The registry's lifecycle status of an entry, when it is not plain "active". */
export function statusWarning(entry: ServerResponse): string | undefined {
  const status = entry._meta?.[OFFICIAL_META_KEY]?.status;
  if (status === undefined || status === 'active') return undefined;
  return `the registry marks ${entry.server.name} ${String(entry.server.version)} as ${status}`;
}
