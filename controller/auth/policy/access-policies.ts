// A server's `_meta` access block as Cedar policies, one per rule so a decision can say which
// rule made it (the policy ids below). Without a block the server is open: both actions are
// permitted, and only platform policies can forbid. Every name is written as a Cedar string
// literal (escaped), so nothing in a server.json can change a policy's shape.
import type { Access } from '../../../registry/catalog/spec.ts';
import { CALL_TOOL, USE_SERVER } from './entity-model.ts';

/** Policy ids, by slug: what a decision names as its rule. */
export const accessPolicyId = {
  use: (slug: string) => `${slug}:access`,
  allow: (slug: string) => `${slug}:access.tools.allow`,
  deny: (slug: string) => `${slug}:access.tools.deny`,
};

/** Whether the block limits who may use the server (groups, scopes or keys). */
export function limitsWho(access: Access | undefined): boolean {
  return Boolean(access?.groups || access?.scopes || access?.keys);
}

/** Whether the block limits the tools (an allow or a deny list). */
export function limitsTools(access: Access | undefined): boolean {
  return Boolean(access?.tools?.allow || access?.tools?.deny);
}

/** The server's policies by id, in Cedar's text form. */
export function accessPolicies(slug: string, access: Access | undefined): Record<string, string> {
  const server = `Server::${cedarString(slug)}`;
  const policies: Record<string, string> = {};
  const who: string[] = [];
  if (access?.groups) who.push(`principal.groups.containsAny(${cedarSet(access.groups)})`);
  if (access?.scopes) who.push(`principal.scopes.containsAny(${cedarSet(access.scopes)})`);
  if (access?.keys)
    who.push(`(principal.kind == "key" && (${nameMatches('principal', access.keys)}))`);
  policies[accessPolicyId.use(slug)] =
    `permit (principal, action == Action::"${USE_SERVER}", resource == ${server})` +
    (who.length > 0 ? `\nwhen { ${who.join(' || ')} };` : ';');
  // call_tool is asked only once use_server allowed the request: these speak of tools alone.
  const allow = access?.tools?.allow;
  policies[accessPolicyId.allow(slug)] =
    `permit (principal, action == Action::"${CALL_TOOL}", resource in ${server})` +
    (allow ? `\nwhen { ${nameMatches('resource', allow)} };` : ';');
  const deny = access?.tools?.deny;
  if (deny)
    policies[accessPolicyId.deny(slug)] =
      `forbid (principal, action == Action::"${CALL_TOOL}", resource in ${server})\n` +
      `when { ${nameMatches('resource', deny)} };`;
  return policies;
}

/** `resource.name == "a" || resource.name like "get_*"`: `*` is Cedar's wildcard too. */
function nameMatches(of: 'principal' | 'resource', patterns: readonly string[]): string {
  return patterns
    .map((p) => `${of}.name ${p.includes('*') ? 'like' : '=='} ${cedarString(p)}`)
    .join(' || ');
}

function cedarSet(values: readonly string[]): string {
  return `[${values.map(cedarString).join(', ')}]`;
}

/**
 * A Cedar string literal: `"` and `\` escaped, control characters as \u{…}. In a `like`
 * pattern `\*` would be a literal star; tool patterns hold no backslash, so `*` stays a wildcard.
 */
export function cedarString(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (code < 0x20 || code === 0x7f) out += `\\u{${code.toString(16)}}`;
    else out += char;
  }
  return `${out}"`;
}
