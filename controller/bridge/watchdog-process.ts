// The watchdog's own program (watchdog.ts starts it): reads what the controller tells it on
// stdin, one line each —
//   track <tag> <pid> <startTime>   a process of the tree tagged <tag>
//   untrack <tag> <pid>             that process of the tree is gone
//   forget <tag>                    that tree is gone
// — and when stdin ends (the controller is gone, however it ended) kills every tree it holds
// at once: nobody is left to wait for a graceful stop, and a controller that stopped
// gracefully stopped its children before.
import { TrackedTree, killTrees } from './tracked-tree.ts';

const trees = new Map<string, TrackedTree>();

function handle(line: string): void {
  const [verb, tag, pid, startTime] = line.split(' ');
  if (tag === undefined) return;
  if (verb === 'forget') trees.delete(tag);
  if (verb === 'untrack') trees.get(tag)?.forget(Number(pid));
  if (verb !== 'track') return;
  let tree = trees.get(tag);
  if (!tree) trees.set(tag, (tree = new TrackedTree(tag)));
  tree.remember({ pid: Number(pid), ppid: 0, pgid: 0, startTime: Number(startTime) });
}

function sweep(): void {
  killTrees(trees.values());
  process.exit(0);
}

let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  pending += chunk;
  const lines = pending.split('\n');
  pending = lines.pop() ?? '';
  for (const line of lines) handle(line);
});
process.stdin.once('end', sweep);
process.stdin.once('error', sweep);
