// The registry directory name (slug) for an imported server, from its reverse-DNS name:
// io.github.domdomegg/airtable-mcp-server → airtable. The slug becomes Kubernetes names and
// the URL /servers/<slug>/mcp, so it must be a DNS-1123 label of at most 40 characters
// (SLUG_PATTERN); --slug overrides it.
import { SLUG_PATTERN } from '../catalog/load.ts';

// Words that say "this is an MCP server", which every server in the registry is: the slug
// keeps what tells servers apart.
const GENERIC_PREFIX = /^(mcp-server-|server-mcp-|mcp-|server-)/;
const GENERIC_SUFFIX = /(-mcp-server|-server-mcp|-mcp|-server)$/;
const GENERIC_WHOLE = /^(mcp|server|mcp-server|server-mcp)$/;
const MAX_SLUG = 40;

/** Lowercase letters, digits and single dashes; everything else becomes a dash. */
function label(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function withoutGenericWords(text: string): string {
  if (GENERIC_WHOLE.test(text)) return '';
  return text.replace(GENERIC_PREFIX, '').replace(GENERIC_SUFFIX, '');
}

/**
 * The slug for a server name, or undefined when none can be made (then --slug is needed).
 * A name that is only generic words (com.notion/mcp) takes its organisation: the last label
 * of the namespace (notion).
 */
export function slugFromName(name: string): string | undefined {
  const slash = name.indexOf('/');
  const namespace = slash < 0 ? '' : name.slice(0, slash);
  const local = label(name.slice(slash + 1));
  const organisation = label(namespace.slice(namespace.lastIndexOf('.') + 1));
  const distinct = withoutGenericWords(local);
  const candidate = distinct || organisation || local;
  const slug = candidate.slice(0, MAX_SLUG).replace(/-+$/, '');
  return SLUG_PATTERN.test(slug) ? slug : undefined;
}

/** Why a --slug is refused, or undefined when it is a valid slug. */
export function slugProblem(slug: string): string | undefined {
  return SLUG_PATTERN.test(slug)
    ? undefined
    : `--slug "${slug}" is not a valid slug: use 1-40 lowercase letters, digits and "-", starting and ending with a letter or digit (it becomes Kubernetes names and /servers/<slug>/mcp)`;
}
