// Lays out on disk the files an image Dockerfile puts in its final stage, without Docker: the
// final stage's `COPY <context paths> <dest>` lines are copied from the checkout, mirrored
// under a temporary root (/opt/mcpfleet → <root>/opt/mcpfleet), and `COPY --from=<stage>
// .../node_modules` becomes a node_modules of the production dependencies only (what
// `npm ci --omit=dev --omit=optional` installs), each linked to the checkout's copy. A simple
// parse: enough for our Dockerfiles, and it fails loudly on anything it does not understand.
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../../..');

export interface ImageLayout {
  /** The temporary root; image path /x/y is `${root}/x/y`. */
  root: string;
  /** The `mcpfleet` executable (the target of `ln -s ... /usr/local/bin/mcpfleet`). */
  bin: string;
  /** The final WORKDIR, where the container's process starts. */
  workdir: string;
  /** Image paths the context COPY lines wrote, e.g. /opt/mcpfleet/controller. */
  copied: string[];
  cleanup(): Promise<void>;
}

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions of the final stage, continuation lines joined, comments dropped. */
function finalStage(text: string): Instruction[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const instructions = logical.map((line) => {
    const match = /^(\w+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`cannot parse Dockerfile line: ${line}`);
    return { keyword: match[1]!.toUpperCase(), args: match[2]! };
  });
  const lastFrom = instructions.map((i) => i.keyword).lastIndexOf('FROM');
  if (lastFrom === -1) throw new Error('no FROM in the Dockerfile');
  return instructions.slice(lastFrom + 1);
}

/** The production packages at the top of node_modules, from package-lock.json. */
async function productionPackages(): Promise<string[]> {
  const lock = JSON.parse(await readFile(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }>;
  };
  return Object.entries(lock.packages)
    .filter(([key]) => /^node_modules\/(@[^/]+\/)?[^/@][^/]*$/.test(key))
    .filter(([, entry]) => !entry.dev && !entry.optional && !entry.devOptional)
    .map(([key]) => key.slice('node_modules/'.length));
}

async function productionNodeModules(target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  for (const name of await productionPackages()) {
    const link = path.join(target, name);
    await mkdir(path.dirname(link), { recursive: true });
    await symlink(path.join(ROOT, 'node_modules', name), link, 'dir');
  }
}

export async function materializeImage(dockerfile: string): Promise<ImageLayout> {
  const text = await readFile(path.join(ROOT, dockerfile), 'utf8');
  const root = await mkdtemp(path.join(tmpdir(), 'mcpfleet-image-'));
  const inImage = (imagePath: string): string => path.join(root, imagePath);
  let workdir = '/';
  let bin: string | undefined;
  const copied: string[] = [];
  try {
    for (const { keyword, args } of finalStage(text)) {
      if (keyword === 'WORKDIR') {
        workdir = path.posix.resolve(workdir, args);
        await mkdir(inImage(workdir), { recursive: true });
      } else if (keyword === 'RUN') {
        const link = /ln -s (\S+) \/usr\/local\/bin\/mcpfleet/.exec(args);
        if (link) bin = link[1];
      } else if (keyword === 'COPY' || keyword === 'ADD') {
        if (args.startsWith('[')) throw new Error(`JSON-form ${keyword} is not supported: ${args}`);
        const words = args.split(/\s+/);
        const flags = words.filter((w) => w.startsWith('--'));
        const paths = words.filter((w) => !w.startsWith('--'));
        const dest = path.posix.resolve(workdir, paths.at(-1)!);
        const sources = paths.slice(0, -1);
        const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
        if (from !== undefined) {
          if (sources.length === 1 && path.posix.basename(sources[0]!) === 'node_modules') {
            await productionNodeModules(inImage(dest));
          } else if (dest.startsWith('/opt/mcpfleet')) {
            throw new Error(`cannot reproduce COPY --from=${from} into the app: ${args}`);
          }
          // Binaries from other images (node, uv) land outside the app; the test's own node runs.
          continue;
        }
        const intoDir = dest.endsWith('/') || paths.at(-1)!.endsWith('/') || sources.length > 1;
        for (const source of sources) {
          const target = intoDir ? path.posix.join(dest, path.posix.basename(source)) : dest;
          await mkdir(path.dirname(inImage(target)), { recursive: true });
          await cp(path.join(ROOT, source), inImage(target), { recursive: true });
          copied.push(target);
        }
      }
    }
    if (bin === undefined)
      throw new Error(`${dockerfile}: no "ln -s <bin.js> /usr/local/bin/mcpfleet"`);
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw err;
  }
  return {
    root,
    bin: inImage(bin),
    workdir: inImage(workdir),
    copied,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
