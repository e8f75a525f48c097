// Kubeconfigs for the test control plane: files for the Go components and KubeConfig objects
// (@kubernetes/client-node) for the tests, authenticated by a client certificate or a token.
import { writeFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

const CLUSTER = 'mcpfleet-test';

const base64 = (pem: string) => Buffer.from(pem).toString('base64');

export type Credentials = { certPem: string; keyPem: string } | { token: string };

/** A KubeConfig for `server` (trusting `caPem`) as `user`, with a single current context. */
export function makeKubeConfig(
  server: string,
  caPem: string,
  user: string,
  credentials: Credentials,
): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: CLUSTER, server, caData: base64(caPem), skipTLSVerify: false }],
    users: [
      'token' in credentials
        ? { name: user, token: credentials.token }
        : {
            name: user,
            certData: base64(credentials.certPem),
            keyData: base64(credentials.keyPem),
          },
    ],
    contexts: [{ name: user, cluster: CLUSTER, user }],
    currentContext: user,
  });
  return kc;
}

/** Writes a kubeconfig file (JSON, which is YAML) that embeds the CA and the client cert. */
export function writeKubeconfigFile(
  path: string,
  server: string,
  caPem: string,
  user: string,
  credentials: { certPem: string; keyPem: string },
): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: CLUSTER, cluster: { server, 'certificate-authority-data': base64(caPem) } }],
    users: [
      {
        name: user,
        user: {
          'client-certificate-data': base64(credentials.certPem),
          'client-key-data': base64(credentials.keyPem),
        },
      },
    ],
    contexts: [{ name: user, context: { cluster: CLUSTER, user } }],
    'current-context': user,
  };
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}
