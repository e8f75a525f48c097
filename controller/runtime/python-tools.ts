// PyPI servers, installed ahead of time for the local runtime: uv (from PyPI, into a venv of
// the project's own) installs each server's exact package version as a uv tool under
// .mcpfleet/python/, and the runtime then runs its entry point directly — a wake never
// resolves, downloads or builds anything (uvx would, on its first run and whenever its cache
// is cold). `mcpfleet registry install` does it; nothing happens on the wake path.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PythonTools {
  root: string;
  /** The tool's entry point, if exactly this version is installed. */
  installed(name: string, version: string): string | undefined;
}

export function pythonTools(projectRoot: string): PythonTools {
  const root = join(projectRoot, '.mcpfleet', 'python');
  return {
    root,
    installed(name, version) {
      const bin = join(root, 'bin', name);
      const marker = join(root, 'installed', name);
      try {
        return existsSync(bin) && readFileSync(marker, 'utf8').trim() === version ? bin : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** Installs `name==version` as a uv tool (uv itself first, once). Returns the entry point. */
export async function installPythonTool(
  projectRoot: string,
  name: string,
  version: string,
  log: (line: string) => void = () => {},
): Promise<string> {
  const tools = pythonTools(projectRoot);
  const already = tools.installed(name, version);
  if (already) return already;
  const uv = await ensureUv(tools.root, log);
  // Dependencies as they were when this version was published: a server pinned to an old
  // release keeps working when its dependencies later break their API (mcp-server-fetch
  // 2025.4.7 fails to import with today's `mcp`), and the install is the same every time.
  const releasedAt = await releaseTime(name, version);
  log(`installing ${name}==${version} with uv (dependencies as of ${releasedAt})`);
  await run(
    uv,
    ['tool', 'install', '--force', '--exclude-newer', releasedAt, `${name}==${version}`],
    {
      env: {
        ...process.env,
        UV_TOOL_DIR: join(tools.root, 'tools'),
        UV_TOOL_BIN_DIR: join(tools.root, 'bin'),
        UV_CACHE_DIR: join(tools.root, 'cache'),
        // Use this machine's Python; never download one.
        UV_PYTHON_DOWNLOADS: 'never',
      },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  mkdirSync(join(tools.root, 'installed'), { recursive: true });
  writeFileSync(join(tools.root, 'installed', name), `${version}\n`);
  const bin = tools.installed(name, version);
  if (!bin)
    throw new Error(`uv installed ${name}==${version} but no "${name}" entry point appeared`);
  return bin;
}

/**
 * When `name==version` was uploaded (its newest file), from the index's JSON Simple API (PEP 691
 * and PEP 700's upload-time), plus one second; the index is UV_INDEX_URL's or PyPI's.
 */
async function releaseTime(name: string, version: string): Promise<string> {
  const index = (process.env.UV_INDEX_URL ?? 'https://pypi.org/simple').replace(/\/+$/, '');
  const normalized = name.toLowerCase().replace(/[-_.]+/g, '-');
  const url = `${index}/${normalized}/`;
  const res = await fetch(url, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } });
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
  const body = (await res.json()) as { files?: { filename: string; 'upload-time'?: string }[] };
  // Compare names normalized the PEP 503 way: "mcp_server_fetch-2025.4.7-py3-none-any.whl" and
  // "mcp-server-fetch-2025.4.7.tar.gz" both start "mcp-server-fetch-2025-4-7-".
  const canonical = (text: string) => text.toLowerCase().replace(/[-_.]+/g, '-');
  const prefix = `${normalized}-${canonical(version)}-`;
  const times = (body.files ?? [])
    .filter((f) => canonical(f.filename).startsWith(prefix))
    .flatMap((f) => (f['upload-time'] ? [Date.parse(f['upload-time'])] : []));
  if (times.length === 0)
    throw new Error(`${url} lists no files with an upload time for ${name}==${version}`);
  return new Date(Math.max(...times) + 1000).toISOString();
}

/** uv from PyPI in a venv of our own (python3 -m venv + pip install uv), once. */
async function ensureUv(root: string, log: (line: string) => void): Promise<string> {
  const venv = join(root, 'uv-venv');
  const uv = join(venv, 'bin', 'uv');
  if (existsSync(uv)) return uv;
  log('installing uv from PyPI (once)');
  mkdirSync(root, { recursive: true });
  try {
    await run('python3', ['-m', 'venv', venv]);
  } catch (err) {
    throw new Error(
      `cannot create a Python venv for uv (python3 -m venv ${venv}): ${(err as Error).message}`,
      { cause: err },
    );
  }
  await run(join(venv, 'bin', 'pip'), ['install', '--quiet', 'uv'], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return uv;
}
