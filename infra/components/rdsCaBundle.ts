// Amazon's RDS certificate authorities, for the controller to verify PostgreSQL's certificate and
// host name (sslmode=verify-full). Node trusts the public web PKI, not the RDS CAs, and the pg
// stack treats `sslmode=require` as verify-full: without the bundle every connection fails.
// The bundle is downloaded when the program runs, from Amazon's trust store over HTTPS (the
// download itself is verified by the web PKI), and checked to hold CA certificates only; it is
// shipped to the controller as a ConfigMap (public certificates, no secret).
import { X509Certificate } from 'node:crypto';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { platformLabels } from '../../registry/catalog/workload-names.ts';
import { DATABASE_CA_CONFIGMAP, DATABASE_CA_KEY } from '../manifests/platform.ts';

/** The region's bundle (its root and intermediate CAs), as the RDS documentation lists it. */
export const rdsCaBundleUrl = (region: string) =>
  `https://truststore.pki.rds.amazonaws.com/${region}/${region}-bundle.pem`;

/** Returns the PEM when it holds at least one certificate and only CA certificates. */
export function checkCaBundle(pem: string, source: string): string {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${source}: no PEM certificate in the answer`);
  for (const block of blocks) {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(block);
    } catch (err) {
      throw new Error(`${source}: a certificate does not parse (${(err as Error).message})`, {
        cause: err,
      });
    }
    if (!certificate.ca)
      throw new Error(`${source}: ${certificate.subject.replace(/\n/g, ', ')} is not a CA`);
  }
  return `${blocks.join('\n')}\n`;
}

export async function fetchRdsCaBundle(region: string): Promise<string> {
  const url = rdsCaBundleUrl(region);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new Error(
      `could not download the RDS CA bundle from ${url} (the controller verifies PostgreSQL with it): ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return checkCaBundle(await response.text(), url);
}

/** The ConfigMap the controller mounts (see controllerDeployment's `databaseCa`). */
export function databaseCaConfigMap(
  parent: pulumi.Resource,
  namespace: pulumi.Input<string>,
  pem: pulumi.Input<string>,
): k8s.core.v1.ConfigMap {
  return new k8s.core.v1.ConfigMap(
    DATABASE_CA_CONFIGMAP,
    {
      metadata: {
        name: DATABASE_CA_CONFIGMAP,
        namespace,
        labels: platformLabels(DATABASE_CA_CONFIGMAP, 'connection'),
      },
      data: { [DATABASE_CA_KEY]: pem },
    },
    { parent },
  );
}
