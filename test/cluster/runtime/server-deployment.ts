// A server Deployment shaped the way infra/manifests/server.ts shapes one (names and labels from
// registry/catalog/workload-names.ts, container port "mcp", annotation mcpfleet.dev/path), but
// running this checkout's bridge and server-everything as host commands, for the runtime tests.
import type { V1Deployment, V1EnvVar } from '@kubernetes/client-node';
import type { ServerSpec } from '../../../registry/catalog/spec.ts';
import { serverLabels, workloadName } from '../../../registry/catalog/workload-names.ts';
import { EVERYTHING_BIN } from '../../controller/support/processes.ts';

const REPO = new URL('../../../', import.meta.url).pathname;
const BIN = `${REPO}controller/cli/bin.js`;

export interface ServerDeploymentOptions {
  /** Pin to one node architecture. */
  nodeArch?: string;
  /** What the bridge runs (default: server-everything over stdio). */
  args?: string[];
  /** The server container's env (default: POD_NAME, so a test can see which pod answered). */
  env?: V1EnvVar[];
  /** Initial replicas (default 0: asleep, as Pulumi creates a minReplicas-0 server). */
  replicas?: number;
}

export function serverDeployment(
  spec: ServerSpec,
  namespace: string,
  options: ServerDeploymentOptions = {},
): V1Deployment {
  const labels = serverLabels(spec.slug, spec.version);
  const selector = {
    'app.kubernetes.io/name': labels['app.kubernetes.io/name']!,
    'app.kubernetes.io/instance': labels['app.kubernetes.io/instance']!,
  };
  return {
    metadata: { name: workloadName(spec.slug), namespace, labels },
    spec: {
      replicas: options.replicas ?? 0,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels, annotations: { 'mcpfleet.dev/path': '/mcp' } },
        spec: {
          nodeSelector: {
            'kubernetes.io/os': 'linux',
            ...(options.nodeArch ? { 'kubernetes.io/arch': options.nodeArch } : {}),
          },
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: 'server',
              image: 'host/mcpfleet-bridge',
              workingDir: REPO,
              command: [
                process.execPath,
                BIN,
                'bridge',
                '--host',
                '0.0.0.0',
                '--port',
                '8080',
                '--',
              ],
              args: options.args ?? [process.execPath, EVERYTHING_BIN],
              // POD_NAME lets a test see which pod answered (server-everything's get-env tool).
              env: options.env ?? [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              ],
              ports: [{ name: 'mcp', containerPort: 8080, protocol: 'TCP' }],
              readinessProbe: { tcpSocket: { port: 'mcp' }, periodSeconds: 2 },
            },
          ],
        },
      },
    },
  };
}
