// Reads a Dockerfile into instructions: dockerfile-ast finds where each instruction starts and
// ends (parser directives, comments, line continuations); this module joins continued lines the
// way BuildKit does (comment lines inside a continuation are dropped) and recognizes the JSON
// (exec) form. Word splitting and variable expansion live in words.ts.
import { readFileSync } from 'node:fs';
import { DockerfileParser } from 'dockerfile-ast';

export interface Instruction {
  /** 1-based line where the instruction starts. */
  line: number;
  /** Upper-case keyword: FROM, RUN, COPY... */
  keyword: string;
  /** The arguments, continuation lines joined, comment lines inside them dropped. */
  text: string;
  /** The exec form's strings, when the arguments are a JSON array of strings. */
  json?: string[];
}

export interface Dockerfile {
  /** Where it was read from (for messages); inline Dockerfiles get a made-up name. */
  path: string;
  text: string;
  instructions: Instruction[];
}

export function readDockerfile(path: string, text = readFileSync(path, 'utf8')): Dockerfile {
  const parsed = DockerfileParser.parse(text);
  const escape = parsed.getEscapeCharacter();
  if (escape !== '\\')
    throw new Error(`${path}: the escape=${escape} parser directive is not supported (only \\)`);
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const offset = (p: { line: number; character: number }) => lineStarts[p.line]! + p.character;
  const instructions: Instruction[] = parsed.getInstructions().map((ins) => {
    // Everything after the keyword (getRawArgumentsContent leaves out flags such as --from).
    const raw = text.slice(offset(ins.getInstructionRange().end), offset(ins.getRange().end));
    const joined = joinContinuations(raw);
    const instruction: Instruction = {
      line: ins.getRange().start.line + 1,
      keyword: ins.getKeyword().toUpperCase(),
      text: joined.trim(),
    };
    const json = execForm(instruction.text);
    if (json) instruction.json = json;
    return instruction;
  });
  return { path, text, instructions };
}

/** `file:line`, the prefix of every message about an instruction. */
export function where(dockerfile: Dockerfile, instruction: Instruction): string {
  return `${dockerfile.path}:${instruction.line}`;
}

/** Removes `\`+newline, and the comment and empty lines BuildKit skips inside a continuation. */
function joinContinuations(raw: string): string {
  const lines = raw.split(/\r?\n/);
  let out = '';
  lines.forEach((line, index) => {
    if (index > 0 && /^\s*(#.*)?$/.test(line)) return;
    const continued = /\\\s*$/.test(line) && index < lines.length - 1;
    out += continued ? line.replace(/\\\s*$/, '') : line;
  });
  return out;
}

function execForm(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  } catch {
    // Not JSON: Docker falls back to the shell form, and so do we.
  }
  return undefined;
}
