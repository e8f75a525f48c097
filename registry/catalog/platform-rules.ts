// What mcpfleet refuses beyond the official server.json schema: only what it cannot deploy
// (or cannot deploy safely and reproducibly). Every refusal of an officially valid document
// carries one of these ids; the differential test (test/registry/official-differential.test.ts)
// fails on any refusal that has none, and docs/registry-rules.md explains each to authors.
export const PLATFORM_RULES = {
  'safe-json':
    'the file is JSON the controller can read safely: under 1 MiB, UTF-8 without BOM, nested at most 32 levels, no __proto__/constructor/prototype keys',
  'registry-layout':
    'one server per registry/servers/<slug>/ directory: a DNS-1123 slug, a regular server.json inside the repository, a name no other server uses',
  settings:
    '_meta["dev.mcpfleet/v1"] follows the platform settings schema (registry/server.schema.json); an unknown key there is an error, since a setting that is not read deploys nothing',
  'deployable-selection':
    'there is something to deploy (a package or a remote), and the package, remote and arch the settings select exist',
  'runnable-package':
    'the package that is deployed has a registryType the platform runs (npm, pypi, oci, nuget, mcpb); packages chosen per architecture share registryType and transport',
  'package-name':
    "the deployed package's identifier is a name by its registry's own rules (npm, PyPI, NuGet, OCI references): never a path",
  'no-code-hooks':
    'the deployed package runs as named: no environment variable that loads code or redirects downloads (NODE_OPTIONS, LD_PRELOAD, PYTHONPATH, npm_config_*, UV_INDEX_URL, …), no runner flag that does (npx --registry/--node-options/--call, uvx --index-url, dnx --source, …)',
  'pinned-version':
    'the deployed package names an exact version (not "latest", not a range), so a deploy is reproducible',
  'pinned-image': 'the deployed OCI image is pinned to a tag other than "latest", or to a digest',
  'verified-download':
    'a deployed mcpb bundle is an https URL with its fileSha256, so the download is verified',
  'inputs-filled':
    'every input the deployed package needs has a value (from the document or _meta inputs), within its choices, and every _meta input is used',
  storage:
    'a server that names $(MCPFLEET_DATA_DIR) declares "storage", the persistent volume that variable names (without it the path would be empty)',
  'secrets-bound':
    'secret inputs are bound to Kubernetes Secret keys under _meta secrets, never written inline, and every binding is used',
} as const;

export type PlatformRule = keyof typeof PLATFORM_RULES;

/** The rule id of the official schema's own refusals. */
export const OFFICIAL_RULE = 'official-schema';

/** Warnings: what the official schema allows but mcpfleet does not read (`--strict` refuses). */
export const WARNING_RULES = {
  'unknown-field':
    'a field neither the official schema names nor mcpfleet reads: allowed, ignored — often a typo',
  'unknown-revision': 'a "$schema" that names no official revision: checked against the latest',
  'unread-value':
    'a value an older official revision allowed where mcpfleet reads the current meaning: ignored',
} as const;

export type ProblemRule = PlatformRule | typeof OFFICIAL_RULE | keyof typeof WARNING_RULES;
