// RUN lines. Only an explicit set of commands is understood, and each is carried out for real
// in the stage's files; a RUN with anything else fails the materialization, naming the line, so
// nobody adds a build step that the tests would silently skip.
import {
  chmodSync,
  lchownSync,
  lstatSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { join, posix } from 'node:path';
import type { Instruction } from './dockerfile.ts';
import { chmodMode, isRoot, lstatOrUndefined, mkdirExact, unshareInode } from './fsops.ts';
import { debianPackageInstalled, type Host } from './host-tools.ts';
import { npmCi } from './npm-ci.ts';
import { npmInstall } from './npm-install.ts';
import { stageVars, writablePath, type Stage } from './stage.ts';
import { resolve } from './stage-view.ts';
import { shellCommands, type Word } from './words.ts';

export const KNOWN_RUN_STEPS =
  'npm ci, npm install <packages>, npm cache clean, ln -s, chmod, mkdir, chown, ' +
  'apt-get update|install|clean (packages must be installed on this host, which stands in for ' +
  'Debian), rm -rf /var/lib/apt/lists/*, rm -rf <paths> (no patterns)';

export class UnknownRunStep extends Error {}

export async function runInstruction(
  stage: Stage,
  host: Host,
  instruction: Instruction,
  where: string,
): Promise<void> {
  let commands: Word[][];
  const shellScript =
    instruction.json &&
    instruction.json.length === 3 &&
    /^(\/bin\/)?sh$/.test(instruction.json[0]!) &&
    instruction.json[1] === '-c'
      ? instruction.json[2]!
      : undefined;
  try {
    if (instruction.json && shellScript === undefined)
      commands = [instruction.json.map((value) => ({ value, glob: false }))];
    else commands = shellCommands(shellScript ?? instruction.text, stageVars(stage));
  } catch (error) {
    throw new UnknownRunStep(
      `${where}: RUN ${instruction.text}: ${(error as Error).message}; the image materializer runs only simple commands joined by && (${KNOWN_RUN_STEPS})`,
    );
  }
  for (const words of commands) {
    const argv = words.map((w) => w.value);
    const step = STEPS.find((s) => s.matches(argv));
    if (!step || (words.some((w) => w.glob) && !step.globs))
      throw new UnknownRunStep(
        `${where}: RUN step "${argv.join(' ')}" is not one the image materializer knows how to run. ` +
          `It runs, for real: ${KNOWN_RUN_STEPS}. Teach test/cluster/images/run-steps.ts the new step ` +
          'rather than letting the tests skip it.',
      );
    try {
      await step.run(argv, stage, host);
    } catch (error) {
      throw new Error(`${where}: RUN ${argv.join(' ')}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}

interface Step {
  matches(argv: string[]): boolean;
  /** The step may have unquoted pathname patterns. */
  globs?: boolean;
  run(argv: string[], stage: Stage, host: Host): Promise<void> | void;
}

/** Splits `-abc --long x` style options from operands (options first, as these tools take them). */
function options(
  argv: string[],
  known: string,
  withValue = '',
): { flags: Set<string>; values: Map<string, string>; operands: string[] } {
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (/^-[A-Za-z]+$/.test(a) && operands.length === 0) {
      for (const f of a.slice(1)) {
        if (withValue.includes(f)) values.set(f, argv[++i] ?? '');
        else if (known.includes(f)) flags.add(f);
        else throw new Error(`option -${f} is not supported`);
      }
    } else if (a.startsWith('--') && operands.length === 0)
      throw new Error(`option ${a} is not supported`);
    else operands.push(a);
  }
  return { flags, values, operands };
}

const STEPS: Step[] = [
  {
    matches: (argv) => argv[0] === 'npm' && argv[1] === 'ci',
    run: (argv, stage, host) =>
      npmCi(stage, host, argv.slice(1), writablePath(stage, stage.workingDir, true)),
  },
  {
    // With package operands only (the bake Dockerfiles); a bare `npm install` is `npm ci`'s job.
    matches: (argv) =>
      argv[0] === 'npm' &&
      (argv[1] === 'install' || argv[1] === 'i') &&
      argv.slice(2).some((a) => !a.startsWith('-')),
    run: (argv, stage, host) =>
      npmInstall(stage, host, argv.slice(1), writablePath(stage, stage.workingDir, true)),
  },
  {
    // The npm cache is build-time only here (never in the rootfs): nothing to clean.
    matches: (argv) => argv[0] === 'npm' && argv[1] === 'cache' && argv[2] === 'clean',
    run: () => {},
  },
  {
    matches: (argv) => argv[0] === 'ln',
    run(argv, stage) {
      const { flags, operands } = options(argv.slice(1), 'sfnTv');
      if (!flags.has('s')) throw new Error('only symbolic links (ln -s) are supported');
      if (operands.length < 2) throw new Error('missing operand');
      const targets = operands.slice(0, -1);
      const last = operands[operands.length - 1]!;
      const lastPath = writablePath(stage, last, !flags.has('n') && !flags.has('T'));
      const intoDir = !flags.has('T') && lstatOrUndefined(lastPath)?.isDirectory() === true;
      if (targets.length > 1 && !intoDir) throw new Error(`target '${last}' is not a directory`);
      for (const target of targets) {
        const link = intoDir ? join(lastPath, posix.basename(target)) : writablePath(stage, last);
        const parent = lstatOrUndefined(join(link, '..'));
        if (!parent?.isDirectory())
          throw new Error(`failed to create symbolic link '${last}': No such file or directory`);
        if (lstatOrUndefined(link)) {
          if (!flags.has('f'))
            throw new Error(`failed to create symbolic link '${last}': File exists`);
          rmSync(link, { force: true });
        }
        symlinkSync(target, link);
      }
    },
  },
  {
    matches: (argv) => argv[0] === 'chmod',
    run(argv, stage) {
      const recursive = argv[1] === '-R';
      const [mode, ...paths] = argv.slice(recursive ? 2 : 1);
      if (!mode || paths.length === 0) throw new Error('missing operand');
      for (const p of paths) {
        const path = writablePath(stage, p, true);
        if (!lstatOrUndefined(path))
          throw new Error(`cannot access '${p}': No such file or directory`);
        walk(path, recursive, (file) => {
          const stat = lstatSync(file);
          if (stat.isSymbolicLink()) return;
          unshareInode(file);
          chmodSync(file, chmodMode(mode, stat.mode, stat.isDirectory()));
        });
      }
    },
  },
  {
    matches: (argv) => argv[0] === 'mkdir',
    run(argv, stage) {
      const { flags, values, operands } = options(argv.slice(1), 'pv', 'm');
      const mode = values.has('m') ? chmodMode(values.get('m')!, 0o777, true) : 0o755;
      if (operands.length === 0) throw new Error('missing operand');
      for (const dir of operands) {
        const path = writablePath(stage, dir);
        const existing = lstatOrUndefined(path);
        if (existing) {
          if (!flags.has('p') || !existing.isDirectory())
            throw new Error(`cannot create directory '${dir}': File exists`);
          continue;
        }
        if (!flags.has('p') && !lstatOrUndefined(join(path, '..'))?.isDirectory())
          throw new Error(`cannot create directory '${dir}': No such file or directory`);
        mkdirExact(path, 0o755);
        chmodSync(path, mode);
      }
    },
  },
  {
    matches: (argv) => argv[0] === 'chown',
    run(argv, stage) {
      const { flags, operands } = options(argv.slice(1), 'Rhv');
      const [owner, ...paths] = operands;
      if (!owner || paths.length === 0) throw new Error('missing operand');
      const { uid, gid } = parseOwner(stage, owner);
      for (const p of paths) {
        const path = writablePath(stage, p, !flags.has('h'));
        if (!lstatOrUndefined(path))
          throw new Error(`cannot access '${p}': No such file or directory`);
        walk(path, flags.has('R'), (file) => {
          // Applied when we can (as root); as another user the owners stay ours.
          if (!isRoot) return;
          unshareInode(file);
          const stat = lstatSync(file);
          lchownSync(file, uid ?? stat.uid, gid ?? stat.gid);
        });
      }
    },
  },
  {
    matches: (argv) => argv[0] === 'apt-get',
    run(argv, stage) {
      const words = argv
        .slice(1)
        .filter(
          (a) =>
            !/^(-y|--yes|-q+|--quiet|--no-install-recommends|--no-install-suggests|-o.*)$/.test(a),
        );
      const [command, ...packages] = words;
      if (!stage.debianFromHost)
        throw new Error(
          `apt-get: the base image (${stage.base}) is not a Debian this host stands in for`,
        );
      if (command === 'update' || command === 'clean' || command === 'autoremove') return;
      if (command !== 'install') throw new Error(`apt-get ${command} is not supported`);
      const missing = packages.filter((p) => !debianPackageInstalled(p));
      if (missing.length > 0)
        throw new Error(
          `${missing.join(', ')}: not installed on this host, which stands in for the image's Debian; apt-get install ${missing.join(' ')} here (and in .ci/services)`,
        );
    },
  },
  {
    // apt's package lists never reach the rootfs here.
    matches: (argv) => argv.join(' ') === 'rm -rf /var/lib/apt/lists/*',
    globs: true,
    run: () => {},
  },
  {
    // Paths without patterns: removed from the stage's own files. Build-time caches (npm's, uv's)
    // never land in the rootfs here, so removing them is usually a no-op; a path that belongs to
    // a host stand-in cannot be removed.
    matches: (argv) => argv[0] === 'rm' && /^-(rf|fr)$/.test(argv[1] ?? '') && argv.length > 2,
    run(argv, stage) {
      for (const p of argv.slice(2)) {
        const resolved = resolve(stage, p, stage.workingDir, false);
        if (!lstatOrUndefined(resolved.hostPath)) continue;
        if (resolved.kind !== 'rootfs')
          throw new Error(`${p} belongs to a host stand-in for the base image; cannot remove it`);
        rmSync(resolved.hostPath, { recursive: true, force: true });
      }
    },
  },
];

function walk(path: string, recursive: boolean, visit: (path: string) => void): void {
  visit(path);
  const stat = lstatSync(path);
  if (recursive && stat.isDirectory())
    for (const name of readdirSync(path)) walk(join(path, name), true, visit);
}

/** `user[:group]`, numeric or names from the stage's /etc/passwd and /etc/group. */
export function parseOwner(stage: Stage, owner: string): { uid?: number; gid?: number } {
  const [user, group] = owner.split(/[:.]/);
  const lookup = (file: 'passwd' | 'group', name: string | undefined): number | undefined => {
    if (name === undefined || name === '') return undefined;
    if (/^\d+$/.test(name)) return Number(name);
    const resolved = resolve(stage, `/etc/${file}`);
    const line = readFileSync(resolved.hostPath, 'utf8')
      .split('\n')
      .find((l) => l.split(':')[0] === name);
    if (!line) throw new Error(`invalid ${file === 'passwd' ? 'user' : 'group'}: '${name}'`);
    return Number(line.split(':')[2]);
  };
  return { uid: lookup('passwd', user), gid: lookup('group', group) };
}
