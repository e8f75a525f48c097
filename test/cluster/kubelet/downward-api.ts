// Downward API values shared by env valueFrom and downwardAPI volume items: fieldRef paths and
// resourceFieldRef (limits/requests, defaulting limits to the node's allocatable like kubelet).
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { divideQuantity } from './quantity.ts';

export interface PodRuntimeInfo {
  pod: IPod;
  podIP: string;
  hostIP: string;
  /** Node allocatable (cpu, memory, ephemeral-storage), the default for unset limits. */
  allocatable: Record<string, string>;
}

/** fieldpath.FormatMap: sorted `key="value"` lines (Go %q quoting), no trailing newline. */
export function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((key) => `${key}=${JSON.stringify(map![key])}`)
    .join('\n');
}

const subscript = /^metadata\.(labels|annotations)\['(.+)'\]$/;

export function fieldRefValue(fieldPath: string, info: PodRuntimeInfo): string {
  const { pod } = info;
  const meta = pod.metadata ?? {};
  switch (fieldPath) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'metadata.labels':
      return formatMap(meta.labels);
    case 'metadata.annotations':
      return formatMap(meta.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return info.hostIP;
    case 'status.podIP':
    case 'status.podIPs':
      return info.podIP;
  }
  const match = subscript.exec(fieldPath);
  if (match) {
    const map = match[1] === 'labels' ? meta.labels : meta.annotations;
    return map?.[match[2]!] ?? '';
  }
  throw new Error(`unsupported fieldPath: ${fieldPath}`);
}

export function resourceFieldValue(
  ref: { resource: string; divisor?: string | number; containerName?: string },
  container: IContainer | undefined,
  info: PodRuntimeInfo,
): string {
  if (!container) throw new Error(`resourceFieldRef: no container ${ref.containerName ?? ''}`);
  const [kind, resource] = ref.resource.split('.', 2) as [string, string | undefined];
  if (!resource || (kind !== 'limits' && kind !== 'requests')) {
    throw new Error(`unsupported resource: ${ref.resource}`);
  }
  const limits = container.resources?.limits ?? {};
  const requests = container.resources?.requests ?? {};
  let value: string | number | undefined;
  if (kind === 'limits') value = limits[resource] ?? info.allocatable[resource];
  else value = requests[resource] ?? limits[resource] ?? 0;
  if (value === undefined) throw new Error(`unsupported resource: ${ref.resource}`);
  return divideQuantity(value, ref.divisor ?? '1');
}
