// The platform-wide Cedar policy file (`mcpfleet serve --policy-file`, MCPFLEET_POLICY_FILE):
// rules across servers that no single server.json should carry, e.g. "nobody calls a tool
// named delete_* anywhere" or "the contractors group uses no server but docs". Its policies
// join every server's own; Cedar's rule holds: a forbid beats any permit, and a permit here
// admits a caller a server's block does not name. Read once at start: a file that does not
// parse or does not fit the entity model (entity-model.ts) stops the controller with Cedar's
// message, the file name and the line.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Cedar } from './cedar.ts';
import { CEDAR_SCHEMA } from './entity-model.ts';

export class PolicyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyFileError';
  }
}

/**
 * The file's policies by id: a policy's `@id("…")` annotation, else `<file name>:<line>` of
 * its first line (what a decision names as its rule, and what the audit log records).
 */
export async function readPolicyFile(cedar: Cedar, file: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new PolicyFileError(
      `policy file ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  return parsePolicies(cedar, text, file);
}

export function parsePolicies(cedar: Cedar, text: string, file: string): Record<string, string> {
  const name = path.basename(file);
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') throw new PolicyFileError(describeErrors(file, text, parts.errors));
  if (parts.policy_templates.length > 0)
    throw new PolicyFileError(
      `policy file ${file}: holds a template (a policy with ?principal or ?resource); write static policies only`,
    );
  const policies: Record<string, string> = {};
  const seen = new Set<number>();
  for (const policy of parts.policies) {
    // Cedar hands the policies back sorted by its own ids, each as written: find each in turn.
    let offset = text.indexOf(policy);
    while (seen.has(offset)) offset = text.indexOf(policy, offset + 1);
    seen.add(offset);
    const line = offset < 0 ? 0 : lineAndColumn(text, offset).line;
    const json = cedar.policyToJson(policy);
    const annotated = json.type === 'success' ? json.json.annotations?.id : undefined;
    const id = annotated ?? `${name}:${line}`;
    if (policies[id] !== undefined)
      throw new PolicyFileError(`policy file ${file}: two policies have the id "${id}"`);
    policies[id] = policy;
  }
  const validation = cedar.validate({
    schema: CEDAR_SCHEMA,
    policies: { staticPolicies: policies },
    validationSettings: { mode: 'strict' },
  });
  if (validation.type === 'failure')
    throw new PolicyFileError(describeErrors(file, text, validation.errors));
  if (validation.validationErrors.length > 0) {
    const lines = validation.validationErrors.map(
      ({ policyId, error }) => `  ${policyId}: ${errorText(error)}`,
    );
    throw new PolicyFileError(
      `policy file ${file} does not fit what the gateway knows of principals, servers and tools:\n${lines.join('\n')}`,
    );
  }
  return policies;
}

interface CedarError {
  message: string;
  help: string | null;
  sourceLocations?: { start: number; end: number }[];
}

function describeErrors(file: string, text: string, errors: readonly CedarError[]): string {
  return errors
    .map((error) => {
      const at = error.sourceLocations?.[0];
      const where = at ? lineAndColumn(text, byteToCharOffset(text, at.start)) : undefined;
      return `policy file ${file}${where ? `:${where.line}:${where.column}` : ''}: ${errorText(error)}`;
    })
    .join('\n');
}

function errorText(error: CedarError): string {
  return error.help ? `${error.message} (${error.help})` : error.message;
}

/** Cedar reports offsets in UTF-8 bytes; a file with non-ASCII comments shifts them. */
function byteToCharOffset(text: string, bytes: number): number {
  return Buffer.from(text, 'utf8').subarray(0, bytes).toString('utf8').length;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}
