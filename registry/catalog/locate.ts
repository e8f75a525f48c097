// Line and column of a problem's JSON path in the file's text, so a person (or a PR's diff,
// through GitHub annotations) lands on the spot. jsonc-parser keeps the offsets JSON.parse
// throws away. A path that does not exist in the text (a missing field) lands on the deepest
// part that does: the object the field is missing from.
import { findNodeAtLocation, parseTree, type Node, type Segment } from 'jsonc-parser';
import type { Problem } from './spec.ts';
import { lineColumnOf } from './read-json.ts';

const TOKEN = /\.?([A-Za-z_$][A-Za-z0-9_$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;

/** `packages[0]["dev.mcpfleet/v1"].x` → ['packages', 0, 'dev.mcpfleet/v1', 'x']. */
export function segmentsOf(path: string): Segment[] | undefined {
  const segments: Segment[] = [];
  TOKEN.lastIndex = path.startsWith('$') ? 1 : 0;
  while (TOKEN.lastIndex < path.length) {
    const match = TOKEN.exec(path);
    if (!match) return undefined;
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push(JSON.parse(match[3] as string) as string);
  }
  return segments;
}

/** The offset a path points at: a property's key, an element's first character. */
function offsetOf(tree: Node, segments: Segment[]): number {
  for (let length = segments.length; length > 0; length--) {
    const node = findNodeAtLocation(tree, segments.slice(0, length));
    if (node) return node.parent?.type === 'property' ? node.parent.offset : node.offset;
  }
  return tree.offset;
}

/** Adds line and column to each problem whose path can be found in `text`. */
export function locateProblems<T extends Problem>(text: string, problems: T[]): T[] {
  if (problems.length === 0) return problems;
  const tree = parseTree(text);
  if (!tree) return problems;
  return problems.map((problem) => {
    if (problem.line !== undefined) return problem;
    const segments = segmentsOf(problem.path);
    if (!segments) return problem;
    return { ...problem, ...lineColumnOf(text, offsetOf(tree, segments)) };
  });
}
