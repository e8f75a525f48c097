// The init container script that fetches an MCP bundle (.mcpb, a zip) and verifies its sha256
// before the server may start. Fail closed: any download error, size overrun or digest mismatch
// exits non-zero, so the pod never reaches its server container. Node (present in every runner
// image) downloads and hashes; `unzip` (installed in the runner images) extracts.
import type { Arch } from '../../registry/catalog/spec.ts';

export const BUNDLE_DIR = '/bundle';
export const BUNDLE_APP_DIR = '/bundle/app';
const MAX_BUNDLE_BYTES = 512 * 1024 * 1024;

const FETCH_AND_VERIFY = `
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
const arch = { x64: 'AMD64', arm64: 'ARM64' }[process.arch];
const url = arch && process.env['BUNDLE_URL_' + arch];
const expected = arch && process.env['BUNDLE_SHA256_' + arch];
if (!url || !expected) { console.error('no bundle for architecture ' + process.arch); process.exit(1); }
const response = await fetch(url, { redirect: 'follow' });
if (!response.ok) { console.error('bundle download failed: HTTP ' + response.status + ' from ' + url); process.exit(1); }
const body = Buffer.from(await response.arrayBuffer());
if (body.length > ${MAX_BUNDLE_BYTES}) { console.error('bundle larger than ${MAX_BUNDLE_BYTES} bytes'); process.exit(1); }
const actual = createHash('sha256').update(body).digest('hex');
if (actual !== expected.toLowerCase()) { console.error('bundle sha256 mismatch: expected ' + expected + ', got ' + actual); process.exit(1); }
writeFileSync('${BUNDLE_DIR}/bundle.mcpb', body);
console.error('bundle verified: sha256 ' + actual);
`.trim();

/**
 * Turns the bundle's manifest.json (server.mcp_config: command, args, env with ${__dirname})
 * into a launcher script, so the server container runs `sh launch.sh` behind the bridge without
 * knowing the bundle's layout. No manifest or no command: exit non-zero (fail closed).
 */
const WRITE_LAUNCHER = `
import { readFileSync, writeFileSync } from 'node:fs';
const dir = '${BUNDLE_APP_DIR}';
const manifest = JSON.parse(readFileSync(dir + '/manifest.json', 'utf8'));
const config = manifest.server?.mcp_config;
if (!config?.command) { console.error('bundle manifest.json has no server.mcp_config.command'); process.exit(1); }
const expand = (text) => String(text).split('\${__dirname}').join(dir);
const quote = (text) => "'" + expand(text).replace(/'/g, "'\\\\''") + "'";
const env = Object.entries(config.env ?? {}).map(([k, v]) => 'export ' + k + '=' + quote(v));
const argv = [config.command, ...(config.args ?? [])].map(quote).join(' ');
writeFileSync(dir + '/.mcpfleet-launch.sh', ['set -e', ...env, 'exec ' + argv + ' "$@"', ''].join('\\n'));
`.trim();

/** The launcher the init container writes; the server container runs it. */
export const BUNDLE_LAUNCHER = `${BUNDLE_APP_DIR}/.mcpfleet-launch.sh`;

/** argv for the init container (runs in a runner image). */
export function bundleFetchCommand(): string[] {
  return [
    'sh',
    '-ec',
    [
      `node --input-type=module -e "$FETCH_AND_VERIFY"`,
      `mkdir -p ${BUNDLE_APP_DIR}`,
      `unzip -q ${BUNDLE_DIR}/bundle.mcpb -d ${BUNDLE_APP_DIR}`,
      `rm -f ${BUNDLE_DIR}/bundle.mcpb`,
      `node --input-type=module -e "$WRITE_LAUNCHER"`,
    ].join('\n'),
  ];
}

/** Env for the init container: the script plus one URL/digest pair per architecture. */
export function bundleFetchEnv(
  bundles: Partial<Record<Arch, { url: string; sha256: string }>>,
): { name: string; value: string }[] {
  const env = [
    { name: 'FETCH_AND_VERIFY', value: FETCH_AND_VERIFY },
    { name: 'WRITE_LAUNCHER', value: WRITE_LAUNCHER },
  ];
  for (const arch of ['amd64', 'arm64'] as const) {
    const bundle = bundles[arch];
    if (!bundle) continue;
    env.push({ name: `BUNDLE_URL_${arch.toUpperCase()}`, value: bundle.url });
    env.push({ name: `BUNDLE_SHA256_${arch.toUpperCase()}`, value: bundle.sha256 });
  }
  return env;
}
