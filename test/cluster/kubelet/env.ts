// A container's environment with kubelet's semantics (makeEnvironmentVariables): envFrom first
// (with prefix; later sources win), then env in order — a `value` is $(VAR)-expanded against the
// variables defined so far and the service variables, a valueFrom is resolved and not expanded —
// then the service variables that the container did not define itself.
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { expand, mappingFor } from './expansion.ts';
import { fieldRefValue, resourceFieldValue, type PodRuntimeInfo } from './downward-api.ts';

/** Where ConfigMaps and Secrets come from; undefined means "not found". */
export interface ObjectSource {
  configMap(namespace: string, name: string): Promise<IConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<ISecret | undefined>;
}

/** A pod whose config cannot be built yet: the container waits with CreateContainerConfigError. */
export class ContainerConfigError extends Error {}

/**
 * The variables of the `kubernetes` Service in `default`, which kubelet gives every container.
 * Here they name the apiserver itself (there is no kube-proxy to serve a ClusterIP).
 */
export function masterServiceEnv(host: string, port: number): Map<string, string> {
  const url = `tcp://${host}:${port}`;
  const prefix = `KUBERNETES_PORT_${port}_TCP`;
  return new Map([
    ['KUBERNETES_SERVICE_HOST', host],
    ['KUBERNETES_SERVICE_PORT', String(port)],
    ['KUBERNETES_SERVICE_PORT_HTTPS', String(port)],
    ['KUBERNETES_PORT', url],
    [prefix, url],
    [`${prefix}_PROTO`, 'tcp'],
    [`${prefix}_PORT`, String(port)],
    [`${prefix}_ADDR`, host],
  ]);
}

export const decodeSecretValue = (value: string): string =>
  Buffer.from(value, 'base64').toString('utf8');

export async function containerEnv(
  container: IContainer,
  info: PodRuntimeInfo,
  source: ObjectSource,
  serviceEnv: ReadonlyMap<string, string>,
): Promise<Map<string, string>> {
  const namespace = info.pod.metadata?.namespace ?? 'default';
  const configMaps = new Map<string, IConfigMap | undefined>();
  const secrets = new Map<string, ISecret | undefined>();
  const getConfigMap = async (name: string): Promise<IConfigMap | undefined> => {
    if (!configMaps.has(name)) configMaps.set(name, await source.configMap(namespace, name));
    return configMaps.get(name);
  };
  const getSecret = async (name: string): Promise<ISecret | undefined> => {
    if (!secrets.has(name)) secrets.set(name, await source.secret(namespace, name));
    return secrets.get(name);
  };

  const env = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const configMap = await getConfigMap(from.configMapRef.name ?? '');
      if (!configMap) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [key, value] of Object.entries(configMap.data ?? {})) env.set(prefix + key, value);
    } else if (from.secretRef) {
      const secret = await getSecret(from.secretRef.name ?? '');
      if (!secret) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
      }
      for (const [key, value] of Object.entries(secret.data ?? {})) {
        env.set(prefix + key, decodeSecretValue(value));
      }
    }
  }

  const mapping = mappingFor(env, serviceEnv);
  for (const variable of container.env ?? []) {
    let value = variable.value ?? '';
    const from = variable.valueFrom;
    if (value !== '') {
      value = expand(value, mapping);
    } else if (from?.fieldRef) {
      value = fieldRefValue(from.fieldRef.fieldPath, info);
    } else if (from?.resourceFieldRef) {
      value = resourceFieldValue(from.resourceFieldRef, container, info);
    } else if (from?.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      const configMap = await getConfigMap(ref.name ?? '');
      const data = configMap?.data?.[ref.key];
      if (data === undefined) {
        if (ref.optional) continue;
        throw new ContainerConfigError(
          configMap
            ? `couldn't find key ${ref.key} in ConfigMap ${namespace}/${ref.name}`
            : `configmap "${ref.name}" not found`,
        );
      }
      value = data;
    } else if (from?.secretKeyRef) {
      const ref = from.secretKeyRef;
      const secret = await getSecret(ref.name ?? '');
      const data = secret?.data?.[ref.key];
      if (data === undefined) {
        if (ref.optional) continue;
        throw new ContainerConfigError(
          secret
            ? `couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}`
            : `secret "${ref.name}" not found`,
        );
      }
      value = decodeSecretValue(data);
    }
    env.set(variable.name, value);
  }

  for (const [key, value] of serviceEnv) if (!env.has(key)) env.set(key, value);
  return env;
}

/** ExpandContainerCommandAndArgs, then the runtime's rule for combining with the image. */
export function containerArgv(
  container: IContainer,
  env: ReadonlyMap<string, string>,
  image: { entrypoint: string[]; cmd: string[] },
): string[] {
  const mapping = mappingFor(env);
  const command = (container.command ?? []).map((part) => expand(part, mapping));
  const args = (container.args ?? []).map((part) => expand(part, mapping));
  if (command.length) return [...command, ...args];
  if (args.length) return [...image.entrypoint, ...args];
  return [...image.entrypoint, ...image.cmd];
}
