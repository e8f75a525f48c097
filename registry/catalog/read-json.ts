// Reads untrusted JSON text defensively: size and nesting limits before parsing (so a
// 50 MB or 100,000-deep file costs nothing and cannot overflow the stack), a clear word on a
// BOM or trailing garbage, and no prototype-pollution keys in what comes out.

export const MAX_FILE_BYTES = 1024 * 1024;
export const MAX_DEPTH = 32;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface JsonFailure {
  /** JSON path of the problem ("$" for the document as a whole). */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export type JsonResult =
  { ok: true; value: unknown; text: string } | { ok: false; failure: JsonFailure };

/** Line and column (1-based) of a character offset, for messages people can jump to. */
export function lineColumnOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

export function lineColumn(text: string, offset: number): string {
  const { line, column } = lineColumnOf(text, offset);
  return `line ${line}, column ${column}`;
}

/** The deepest nesting of objects/arrays, scanning without parsing; stops past `limit`. */
function nestingBeyond(text: string, limit: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > limit) return i;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return undefined;
}

/** Converts V8's "... at position N ..." into a line/column the reader can find. */
function describeSyntaxError(text: string, error: SyntaxError): string {
  const position = /position (\d+)/.exec(error.message);
  const where = position ? ` at ${lineColumn(text, Number(position[1]))}` : '';
  const reason = error.message
    .replace(/ in JSON at position \d+.*$/, '')
    .replace(/ at position \d+.*$/, '')
    .replace(/ \(line \d+ column \d+\)$/, '');
  if (/non-whitespace character after JSON/.test(error.message)) {
    return `unexpected text after the end of the JSON document${where}: remove everything after the closing "}"`;
  }
  return `invalid JSON${where}: ${reason}`;
}

function findForbiddenKey(value: unknown, path: string): JsonFailure | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findForbiddenKey(value[i], `${path}[${i}]`);
      if (found) return found;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      const childPath = joinPath(path, key);
      if (FORBIDDEN_KEYS.has(key)) {
        return {
          path: childPath,
          message: `the key "${key}" is not allowed (it can alter object prototypes); rename or remove it`,
        };
      }
      const found = findForbiddenKey((value as Record<string, unknown>)[key], childPath);
      if (found) return found;
    }
  }
  return undefined;
}

/** `a.b`, `a["dev.mcpfleet/v1"]`, `a[0]`: a JSON path a person can read and paste. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  const segment = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (base === '$' || base === '') return segment.startsWith('[') ? `$${segment}` : segment;
  return segment.startsWith('[') ? `${base}${segment}` : `${base}.${segment}`;
}

export function tooLargeMessage(bytes: number): string {
  return `file is ${(bytes / 1024 / 1024).toFixed(1)} MiB; a server.json must be under ${MAX_FILE_BYTES / 1024 / 1024} MiB`;
}

/** Parses one JSON document held as bytes. */
export function parseJsonDocument(bytes: Uint8Array): JsonResult {
  if (bytes.byteLength > MAX_FILE_BYTES) {
    return { ok: false, failure: { path: '$', message: tooLargeMessage(bytes.byteLength) } };
  }
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return {
      ok: false,
      failure: {
        path: '$',
        message: 'file starts with a UTF-8 byte order mark (BOM); save it as UTF-8 without BOM',
      },
    };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, failure: { path: '$', message: 'file is not valid UTF-8 text' } };
  }
  const deep = nestingBeyond(text, MAX_DEPTH);
  if (deep !== undefined) {
    return {
      ok: false,
      failure: {
        path: '$',
        message: `JSON nested deeper than ${MAX_DEPTH} levels at ${lineColumn(text, deep)}; a server.json is never that deep`,
      },
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const position = /position (\d+)/.exec((error as SyntaxError).message);
    return {
      ok: false,
      failure: {
        path: '$',
        message: describeSyntaxError(text, error as SyntaxError),
        ...(position ? lineColumnOf(text, Number(position[1])) : {}),
      },
    };
  }
  const forbidden = findForbiddenKey(value, '$');
  if (forbidden) return { ok: false, failure: forbidden };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      failure: { path: '$', message: 'a server.json must be a JSON object {...}' },
    };
  }
  return { ok: true, value, text };
}
