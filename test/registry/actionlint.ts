// actionlint (github.com/rhysd/actionlint), the linter of GitHub Actions workflows, built from
// the Go module proxy once per machine into ${XDG_CACHE_HOME:-~/.cache}/mcpfleet/tools/ with the
// same cached `go mod download` + `go build` the cluster images use for Go servers.
// CLI: `node test/registry/actionlint.ts` builds (or reuses) it and prints its path.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { goBuildModule, type Host } from '../cluster/images/host-tools.ts';

/** A version the Go module proxy serves (go-partial.tsv lists v1.7.12 as its newest). */
export const ACTIONLINT_VERSION = 'v1.7.12';

const MODULE = 'github.com/rhysd/actionlint';

function toolsHost(): Host {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return {
    repoRoot: fileURLToPath(new URL('../../', import.meta.url)),
    cacheRoot: join(base, 'mcpfleet', 'tools'),
    // A cold build downloads and compiles for about a minute: say so, so it does not look hung.
    log: (message) => process.stderr.write(`[actionlint] ${message}\n`),
  };
}

let pending: Promise<string> | undefined;

/** The actionlint binary's path, built on first use (the build is shared by every caller). */
export function ensureActionlint(): Promise<string> {
  pending ??= goBuildModule(
    toolsHost(),
    MODULE,
    'cmd/actionlint',
    ACTIONLINT_VERSION,
    // As actionlint's own Dockerfile stamps it, so `actionlint -version` names the version.
    `-s -w -X ${MODULE}.version=${ACTIONLINT_VERSION.replace(/^v/, '')}`,
  ).catch((error: unknown) => {
    pending = undefined;
    throw error;
  });
  return pending;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  ensureActionlint().then(
    (binary) => process.stdout.write(`${binary}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
