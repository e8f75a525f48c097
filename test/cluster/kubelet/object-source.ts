// ConfigMaps and Secrets for env and volumes: watched cluster-wide (kubelet watches the ones its
// pods reference; in a test cluster all of them is fewer requests), read from the watch cache,
// with a direct GET when an object is not in it yet (created an instant before the pod).
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { ObjectSource } from './env.ts';
import { isNotFound, type KubeApi } from './kube-api.ts';
import type { Logger } from './logger.ts';
import { startReflector, type Reflector } from './reflector.ts';

export interface WatchedObjectSource extends ObjectSource {
  readonly synced: Promise<void>;
  stop(): void;
}

export function watchConfigObjects(
  api: KubeApi,
  logger: Logger,
  onChange: (kind: 'ConfigMap' | 'Secret', namespace: string, name: string) => void,
): WatchedObjectSource {
  const configMaps: Reflector<IConfigMap> = startReflector<IConfigMap>({
    api,
    path: '/api/v1/configmaps',
    logger,
    onChange: (_type, object) =>
      onChange('ConfigMap', object.metadata?.namespace ?? '', object.metadata?.name ?? ''),
  });
  const secrets: Reflector<ISecret> = startReflector<ISecret>({
    api,
    path: '/api/v1/secrets',
    logger,
    onChange: (_type, object) =>
      onChange('Secret', object.metadata?.namespace ?? '', object.metadata?.name ?? ''),
  });
  const get = async <T>(
    reflector: Reflector<T & { metadata?: object }>,
    resource: string,
    namespace: string,
    name: string,
  ): Promise<T | undefined> => {
    const cached = reflector.get(namespace, name);
    if (cached) return cached;
    try {
      return await api.request<T>('GET', `/api/v1/namespaces/${namespace}/${resource}/${name}`);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  return {
    synced: Promise.all([configMaps.synced, secrets.synced]).then(() => undefined),
    configMap: (namespace, name) => get<IConfigMap>(configMaps, 'configmaps', namespace, name),
    secret: (namespace, name) => get<ISecret>(secrets, 'secrets', namespace, name),
    stop() {
      configMaps.stop();
      secrets.stop();
    },
  };
}
