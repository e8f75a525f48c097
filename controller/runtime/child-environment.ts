// The environment a server's process starts with on this machine: never the controller's own.
// The controller's environment holds DATABASE_URL, REDIS_URL, cloud credentials and every
// other server's secrets; a child that inherited it could hand them to any caller (server-
// everything's `get-env` tool does). A child gets exactly:
//   - the platform variables below, from the controller's environment: what any process needs
//     to run here (where programs and its home are, its locale, a temporary directory) and to
//     reach the network the way this machine does (proxies, extra CA certificates);
//   - the operator's own additions (LocalRuntimeOptions.passEnvironment), named one by one;
//   - the spec's plain `env` and that server's declared secrets (launch-plan.ts), which win.
// Package managers keep their configuration in files under HOME (.npmrc, uv.toml), so HOME is
// enough for npx and uvx; their environment overrides (npm_config_*, UV_*) are not passed.

/** Variables passed by name. */
export const PLATFORM_VARIABLES: readonly string[] = [
  // Who and where: programs, home, identity, shell for servers that spawn one.
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  // Locale and time zone (LC_* by prefix below).
  'LANG',
  'LANGUAGE',
  'TZ',
  // Temporary and per-user directories.
  'TMPDIR',
  'TMP',
  'TEMP',
  'XDG_CACHE_HOME',
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'XDG_RUNTIME_DIR',
  // The network as this machine reaches it.
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'NODE_EXTRA_CA_CERTS',
];

/** Variables passed by prefix: the locale categories. */
const PLATFORM_PREFIXES: readonly string[] = ['LC_'];

/**
 * The platform part of a child's environment, read from `source` (the controller's), plus
 * the variables named in `extra` that `source` has.
 */
export function platformEnvironment(
  source: NodeJS.ProcessEnv,
  extra: readonly string[] = [],
): Record<string, string> {
  const names = new Set([...PLATFORM_VARIABLES, ...extra]);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined) continue;
    if (names.has(name) || PLATFORM_PREFIXES.some((prefix) => name.startsWith(prefix)))
      env[name] = value;
  }
  return env;
}

/** A child's whole environment: the platform's, then the server's own (which wins). */
export function childEnvironment(
  source: NodeJS.ProcessEnv,
  server: Record<string, string>,
  extra: readonly string[] = [],
): Record<string, string> {
  return { ...platformEnvironment(source, extra), ...server };
}
