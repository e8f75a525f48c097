// Bound service-account tokens through the TokenRequest API, as kubelet's token manager gets them
// for projected serviceAccountToken sources: bound to the pod (uid), with the requested audience
// and lifetime. A token is due for refresh at 80 % of its lifetime or after 24 h, whichever is
// first (pkg/kubelet/token/token_manager.go).
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { KubeApi } from './kube-api.ts';

export interface BoundToken {
  token: string;
  issuedAt: number;
  expiresAt: number;
  /** When kubelet would fetch a new one (ms since epoch). */
  refreshAt: number;
}

interface TokenRequestResponse {
  status?: { token?: string; expirationTimestamp?: string };
}

export async function requestBoundToken(
  api: KubeApi,
  pod: IPod,
  source: { audience?: string; expirationSeconds?: number },
): Promise<BoundToken> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const serviceAccount = pod.spec?.serviceAccountName || 'default';
  const response = await api.request<TokenRequestResponse>(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          // Empty: the apiserver's own audiences (--api-audiences / the issuer).
          audiences: source.audience ? [source.audience] : [],
          expirationSeconds: source.expirationSeconds ?? 3600,
          boundObjectRef: {
            apiVersion: 'v1',
            kind: 'Pod',
            name: pod.metadata?.name,
            uid: pod.metadata?.uid,
          },
        },
      },
    },
  );
  const token = response.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
  const issuedAt = Date.now();
  const expiresAt = response.status?.expirationTimestamp
    ? Date.parse(response.status.expirationTimestamp)
    : issuedAt + (source.expirationSeconds ?? 3600) * 1000;
  const refreshAt = Math.min(issuedAt + 0.8 * (expiresAt - issuedAt), issuedAt + 24 * 3600 * 1000);
  return { token, issuedAt, expiresAt, refreshAt };
}
