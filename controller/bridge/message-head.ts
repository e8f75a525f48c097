// What the beginning of a JSON-RPC message says about it, when the whole message is too
// large to keep (line-splitter.ts): its top-level `id` and whether it has a top-level
// `method`. A tolerant scanner of a JSON prefix: it walks the outer object's members, skips
// every value it does not need (nested objects and strings included, so an "id" inside a
// result is never taken for the envelope's), and stops where the prefix ends.
import type { JsonRpcId } from './jsonrpc.ts';

export interface MessageHead {
  /** The envelope's id, if the prefix holds it (null: an explicit null id). */
  id?: JsonRpcId | null;
  /** A top-level `method` was seen: a request or notification, not a response. */
  hasMethod: boolean;
}

export function readMessageHead(prefix: string): MessageHead {
  const head: MessageHead = { hasMethod: false };
  let i = skipSpace(prefix, 0);
  if (prefix[i] !== '{') return head;
  i = skipSpace(prefix, i + 1);
  while (prefix[i] === '"') {
    const key = stringAt(prefix, i);
    if (key === undefined) break;
    i = skipSpace(prefix, key.end);
    if (prefix[i] !== ':') break;
    i = skipSpace(prefix, i + 1);
    if (key.value === 'method') head.hasMethod = true;
    if (key.value === 'id') {
      const id = scalarAt(prefix, i);
      if (id !== undefined) head.id = id;
    }
    const end = valueEnd(prefix, i);
    if (end === -1) break;
    i = skipSpace(prefix, end);
    if (prefix[i] !== ',') break;
    i = skipSpace(prefix, i + 1);
  }
  return head;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  return i;
}

/** The JSON string starting at `i` (a quote), or undefined if the prefix ends inside it. */
function stringAt(text: string, i: number): { value: string; end: number } | undefined {
  let j = i + 1;
  while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
  if (j >= text.length) return undefined;
  try {
    return { value: JSON.parse(text.slice(i, j + 1)) as string, end: j + 1 };
  } catch {
    return undefined;
  }
}

/** A string, number or null at `i`; undefined for anything else (or a cut-off value). */
function scalarAt(text: string, i: number): JsonRpcId | null | undefined {
  if (text[i] === '"') return stringAt(text, i)?.value;
  if (text.startsWith('null', i)) return null;
  const number = /^-?\d+(\.\d+)?([eE][+-]?\d+)?(?=[\s,}])/.exec(text.slice(i, i + 40));
  return number ? Number(number[0]) : undefined;
}

/** Where the value starting at `i` ends, or -1 if it runs past the prefix. */
function valueEnd(text: string, i: number): number {
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const c = text[j]!;
    if (c === '"') {
      const string = stringAt(text, j);
      if (string === undefined) return -1;
      j = string.end - 1;
      if (depth === 0) return string.end;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      if (depth === 0) return j;
      if (--depth === 0) return j + 1;
    } else if (depth === 0 && (c === ',' || ' \t\r\n'.includes(c))) return j;
  }
  return -1;
}
