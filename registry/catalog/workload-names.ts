// Kubernetes names and labels derived from a server slug. Part of the catalog (not infra/) because
// both consumers need them: the Pulumi program names the objects, and the controller (whose image
// carries registry/catalog but not infra) finds a server's Deployment and pods by them.
import { createHash } from 'node:crypto';

export const PART_OF = 'mcpfleet';
export const MANAGED_BY = 'pulumi';
export const SERVER_COMPONENT = 'mcp-server';
export const CONTROLLER_COMPONENT = 'controller';
export const CONTROLLER_NAME = 'mcpfleet-controller';
/** Label on every server workload object; its value is the slug. */
export const SERVER_LABEL = 'mcpfleet.dev/server';

/**
 * Name of a server's Deployment, Service and NetworkPolicy: `mcp-<slug>`. Services need a
 * DNS-1035 label (≤63 chars, starting with a letter), which a slug alone does not guarantee;
 * long slugs keep a readable prefix plus a hash so two long slugs never collide.
 */
export function workloadName(slug: string): string {
  const name = `mcp-${slug}`;
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(slug).digest('hex').slice(0, 8);
  return `${name.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

/** Label values are limited to 63 characters; slugs are DNS-1123 labels so they fit. */
export function serverSelectorLabels(slug: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': slug.slice(0, 63),
    'app.kubernetes.io/instance': workloadName(slug),
  };
}

/**
 * A server's labels without its version: for what outlives a version bump unchanged (its
 * volume claim, which an update would make Pulumi await).
 */
export function serverStableLabels(slug: string): Record<string, string> {
  return {
    ...serverSelectorLabels(slug),
    'app.kubernetes.io/component': SERVER_COMPONENT,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': MANAGED_BY,
    [SERVER_LABEL]: slug.slice(0, 63),
  };
}

export function serverLabels(slug: string, version: string): Record<string, string> {
  const { [SERVER_LABEL]: server, ...labels } = serverStableLabels(slug);
  return { ...labels, 'app.kubernetes.io/version': labelValue(version), [SERVER_LABEL]: server! };
}

export function controllerSelectorLabels(): Record<string, string> {
  return {
    'app.kubernetes.io/name': CONTROLLER_NAME,
    'app.kubernetes.io/instance': CONTROLLER_NAME,
  };
}

export function platformLabels(name: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/instance': name,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': MANAGED_BY,
  };
}

/** Makes any text a valid label value: [A-Za-z0-9._-], ≤63, alphanumeric at both ends. */
export function labelValue(text: string): string {
  return text
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}
