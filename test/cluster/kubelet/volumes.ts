// Pod volumes as host directories under <root>/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>,
// laid out like kubelet's: emptyDir, configMap, secret, downwardAPI and projected (configMap,
// secret, downwardAPI, serviceAccountToken) written with the atomic writer and re-rendered on
// refresh(); hostPath and persistentVolumeClaim (the bound PV's hostPath/local path) used in place.
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IKeyToPath } from 'kubernetes-models/v1/KeyToPath';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IPersistentVolume } from 'kubernetes-models/v1/PersistentVolume';
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeAtomically, type Payload, type PayloadFile } from './atomic-writer.ts';
import { fieldRefValue, resourceFieldValue, type PodRuntimeInfo } from './downward-api.ts';
import { decodeSecretValue, type ObjectSource } from './env.ts';
import type { KubeApi } from './kube-api.ts';
import type { Logger } from './logger.ts';
import { requestBoundToken, type BoundToken } from './service-account-token.ts';

/** A volume that cannot be set up yet (missing object, unbound claim): the pod stays Pending. */
export class VolumeError extends Error {}

export interface VolumeContext {
  api: KubeApi;
  source: ObjectSource;
  /** <root>/pods/<uid> */
  podDir: string;
  logger: Logger;
  /** Called when a token refresh rewrote a projected volume. */
  onTokenRefreshError?: (err: unknown) => void;
  /** An `image` volume's directory (the starter's image files); absent: not supported. */
  imageVolume?: (ref: string) => Promise<string>;
}

export interface PodVolumes {
  /** Host directory (or file, for hostPath) of each volume, by name. */
  readonly paths: ReadonlyMap<string, string>;
  /** Names of the ConfigMaps and Secrets the volumes read (to know when to refresh). */
  readonly configMaps: ReadonlySet<string>;
  readonly secrets: ReadonlySet<string>;
  /** Re-render the API-backed volumes (a ConfigMap/Secret/pod metadata change, token refresh). */
  refresh(pod: IPod, info: PodRuntimeInfo): Promise<void>;
  close(): void;
}

const DEFAULT_MODE = 0o644;

const pluginDir = (volume: IVolume): string => {
  if (volume.emptyDir) return 'kubernetes.io~empty-dir';
  if (volume.configMap) return 'kubernetes.io~configmap';
  if (volume.secret) return 'kubernetes.io~secret';
  if (volume.projected) return 'kubernetes.io~projected';
  if (volume.downwardAPI) return 'kubernetes.io~downward-api';
  return 'kubernetes.io~other';
};

/** FsUser: set when every container runs as the same explicit user (kubelet's getFsUserFromPodSpec). */
function fsUserOf(pod: IPod): number | undefined {
  const users = new Set<number | undefined>();
  for (const container of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    users.add(container.securityContext?.runAsUser ?? pod.spec?.securityContext?.runAsUser);
  }
  if (users.size !== 1) return undefined;
  return [...users][0];
}

function itemsPayload(
  data: Map<string, Buffer>,
  items: IKeyToPath[] | undefined,
  defaultMode: number,
  kind: string,
  optional: boolean,
): Payload {
  const payload: Payload = new Map();
  if (!items?.length) {
    for (const [key, value] of data) payload.set(key, { data: value, mode: defaultMode });
    return payload;
  }
  for (const item of items) {
    const value = data.get(item.key);
    if (value === undefined) {
      if (optional) continue;
      throw new VolumeError(`${kind} references non-existent config key: ${item.key}`);
    }
    payload.set(item.path, { data: value, mode: item.mode ?? defaultMode });
  }
  return payload;
}

export async function setupVolumes(
  pod: IPod,
  info: PodRuntimeInfo,
  context: VolumeContext,
): Promise<PodVolumes> {
  const { api, source, logger } = context;
  const namespace = pod.metadata?.namespace ?? 'default';
  const paths = new Map<string, string>();
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const rendered: IVolume[] = [];
  const tokens = new Map<string, BoundToken>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let currentPod = pod;
  let currentInfo = info;

  const configMapData = async (name: string, optional: boolean): Promise<Map<string, Buffer>> => {
    configMaps.add(name);
    const configMap = await source.configMap(namespace, name);
    if (!configMap) {
      if (optional) return new Map();
      throw new VolumeError(`configmap "${name}" not found`);
    }
    const data = new Map<string, Buffer>();
    for (const [key, value] of Object.entries(configMap.data ?? {})) {
      data.set(key, Buffer.from(value));
    }
    for (const [key, value] of Object.entries(configMap.binaryData ?? {})) {
      data.set(key, Buffer.from(value, 'base64'));
    }
    return data;
  };
  const secretData = async (name: string, optional: boolean): Promise<Map<string, Buffer>> => {
    secrets.add(name);
    const secret = await source.secret(namespace, name);
    if (!secret) {
      if (optional) return new Map();
      throw new VolumeError(`secret "${name}" not found`);
    }
    return new Map(
      Object.entries(secret.data ?? {}).map(([key, value]) => [
        key,
        Buffer.from(decodeSecretValue(value)),
      ]),
    );
  };
  const downwardItems = (
    items: NonNullable<NonNullable<IVolume['downwardAPI']>['items']>,
    defaultMode: number,
  ): Payload => {
    const payload: Payload = new Map();
    for (const item of items) {
      let value: string;
      if (item.fieldRef) value = fieldRefValue(item.fieldRef.fieldPath, currentInfo);
      else if (item.resourceFieldRef) {
        const container = currentPod.spec?.containers.find(
          (c) => c.name === item.resourceFieldRef!.containerName,
        );
        value = resourceFieldValue(item.resourceFieldRef, container, currentInfo);
      } else continue;
      payload.set(item.path, { data: value, mode: item.mode ?? defaultMode });
    }
    return payload;
  };

  const applyFsGroup = (payload: Payload): Payload => {
    const fsGroup = currentPod.spec?.securityContext?.fsGroup;
    if (fsGroup === undefined) return payload;
    for (const file of payload.values()) {
      file.gid = fsGroup;
      file.mode |= 0o440;
    }
    return payload;
  };

  const renderPayload = async (volume: IVolume): Promise<Payload> => {
    if (volume.configMap) {
      const cm = volume.configMap;
      const data = await configMapData(cm.name ?? '', Boolean(cm.optional));
      return itemsPayload(
        data,
        cm.items,
        cm.defaultMode ?? DEFAULT_MODE,
        'configMap',
        Boolean(cm.optional),
      );
    }
    if (volume.secret) {
      const s = volume.secret;
      const data = await secretData(s.secretName ?? '', Boolean(s.optional));
      return itemsPayload(
        data,
        s.items,
        s.defaultMode ?? DEFAULT_MODE,
        'secret',
        Boolean(s.optional),
      );
    }
    if (volume.downwardAPI) {
      const d = volume.downwardAPI;
      return downwardItems(d.items ?? [], d.defaultMode ?? DEFAULT_MODE);
    }
    const projected = volume.projected!;
    const defaultMode = projected.defaultMode ?? DEFAULT_MODE;
    const payload: Payload = new Map();
    const add = (part: Payload): void => {
      for (const [key, file] of part) payload.set(key, file);
    };
    for (const projection of projected.sources ?? []) {
      if (projection.configMap) {
        const cm = projection.configMap;
        const data = await configMapData(cm.name ?? '', Boolean(cm.optional));
        add(itemsPayload(data, cm.items, defaultMode, 'configMap', Boolean(cm.optional)));
      } else if (projection.secret) {
        const s = projection.secret;
        const data = await secretData(s.name ?? '', Boolean(s.optional));
        add(itemsPayload(data, s.items, defaultMode, 'secret', Boolean(s.optional)));
      } else if (projection.downwardAPI) {
        add(downwardItems(projection.downwardAPI.items ?? [], defaultMode));
      } else if (projection.serviceAccountToken) {
        const sat = projection.serviceAccountToken;
        const key = `${volume.name}/${sat.path}`;
        let token = tokens.get(key);
        if (!token || Date.now() >= token.refreshAt) {
          token = await requestBoundToken(api, currentPod, sat).catch((err: unknown) => {
            throw new VolumeError(`failed to fetch token: ${String(err)}`);
          });
          tokens.set(key, token);
        }
        const fsUser = fsUserOf(currentPod);
        const fsGroup = currentPod.spec?.securityContext?.fsGroup;
        const file: PayloadFile = {
          data: token.token,
          mode: fsUser !== undefined || fsGroup !== undefined ? 0o600 : defaultMode,
        };
        if (fsUser !== undefined) file.uid = fsUser;
        payload.set(sat.path, file);
      } else if (projection.clusterTrustBundle || projection.podCertificate) {
        throw new VolumeError(`volume ${volume.name}: unsupported projected source`);
      }
    }
    return payload;
  };

  const scheduleTokenRefresh = (): void => {
    if (timer) clearTimeout(timer);
    if (closed || !tokens.size) return;
    const next = Math.min(...[...tokens.values()].map((token) => token.refreshAt));
    timer = setTimeout(
      () => {
        void renderAll().catch((err: unknown) => {
          logger.warn(
            `pod ${namespace}/${pod.metadata?.name}: token refresh failed: ${String(err)}`,
          );
          context.onTokenRefreshError?.(err);
        });
      },
      Math.max(1_000, Math.min(next - Date.now(), 2 ** 31 - 1)),
    );
    timer.unref();
  };

  const renderAll = async (): Promise<void> => {
    for (const volume of rendered) {
      const dir = paths.get(volume.name)!;
      await writeAtomically(dir, applyFsGroup(await renderPayload(volume)));
    }
    scheduleTokenRefresh();
  };

  for (const volume of pod.spec?.volumes ?? []) {
    const dir = path.join(context.podDir, 'volumes', pluginDir(volume), volume.name);
    if (volume.emptyDir) {
      await fs.mkdir(dir, { recursive: true });
      await fs.chmod(dir, 0o777);
      const fsGroup = pod.spec?.securityContext?.fsGroup;
      if (fsGroup !== undefined) {
        await fs.chown(dir, -1, fsGroup);
        await fs.chmod(dir, 0o2777);
      }
      paths.set(volume.name, dir);
    } else if (volume.configMap || volume.secret || volume.projected || volume.downwardAPI) {
      paths.set(volume.name, dir);
      rendered.push(volume);
    } else if (volume.hostPath) {
      paths.set(volume.name, await prepareHostPath(volume.hostPath.path, volume.hostPath.type));
    } else if (volume.image) {
      const ref = volume.image.reference;
      if (!ref || !context.imageVolume)
        throw new VolumeError(`volume ${volume.name}: image volumes need an image starter`);
      paths.set(volume.name, await context.imageVolume(ref));
    } else if (volume.persistentVolumeClaim) {
      paths.set(
        volume.name,
        await resolveClaim(api, namespace, volume.persistentVolumeClaim.claimName),
      );
    } else {
      const kind = Object.keys(volume).find((key) => key !== 'name') ?? 'unknown';
      throw new VolumeError(`volume ${volume.name}: volume type ${kind} is not supported`);
    }
  }
  await renderAll();

  return {
    paths,
    configMaps,
    secrets,
    async refresh(nextPod, nextInfo) {
      currentPod = nextPod;
      currentInfo = nextInfo;
      await renderAll();
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
    },
  };
}

async function prepareHostPath(hostPath: string, type: string | undefined): Promise<string> {
  const stat = await fs.stat(hostPath).catch(() => undefined);
  switch (type ?? '') {
    case 'DirectoryOrCreate':
      if (!stat) await fs.mkdir(hostPath, { recursive: true, mode: 0o755 });
      else if (!stat.isDirectory())
        throw new VolumeError(`hostPath ${hostPath} is not a directory`);
      break;
    case 'FileOrCreate':
      if (!stat) {
        await fs.mkdir(path.dirname(hostPath), { recursive: true, mode: 0o755 });
        await fs.writeFile(hostPath, '', { mode: 0o644 });
      } else if (!stat.isFile()) throw new VolumeError(`hostPath ${hostPath} is not a file`);
      break;
    case 'Directory':
      if (!stat?.isDirectory())
        throw new VolumeError(`hostPath type check failed: ${hostPath} is not a directory`);
      break;
    case 'File':
      if (!stat?.isFile())
        throw new VolumeError(`hostPath type check failed: ${hostPath} is not a file`);
      break;
    case 'Socket':
      if (!stat?.isSocket())
        throw new VolumeError(`hostPath type check failed: ${hostPath} is not a socket file`);
      break;
    case 'CharDevice':
      if (!stat?.isCharacterDevice())
        throw new VolumeError(`hostPath type check failed: ${hostPath} is not a character device`);
      break;
    case 'BlockDevice':
      if (!stat?.isBlockDevice())
        throw new VolumeError(`hostPath type check failed: ${hostPath} is not a block device`);
      break;
  }
  return hostPath;
}

async function resolveClaim(api: KubeApi, namespace: string, claimName: string): Promise<string> {
  const claim = await api
    .request<IPersistentVolumeClaim>(
      'GET',
      `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${claimName}`,
    )
    .catch((err: unknown) => {
      throw new VolumeError(`persistentvolumeclaim "${claimName}" not found: ${String(err)}`);
    });
  const volumeName = claim.spec?.volumeName;
  if (!volumeName || claim.status?.phase !== 'Bound') {
    throw new VolumeError(`persistentvolumeclaim "${claimName}" is not bound`);
  }
  const volume = await api.request<IPersistentVolume>(
    'GET',
    `/api/v1/persistentvolumes/${volumeName}`,
  );
  const hostPath = volume.spec?.hostPath?.path ?? volume.spec?.local?.path;
  if (!hostPath) {
    throw new VolumeError(
      `persistentvolume ${volumeName}: only hostPath and local volumes are supported`,
    );
  }
  const dir = await prepareHostPath(hostPath, volume.spec?.hostPath?.type ?? 'DirectoryOrCreate');
  return dir;
}
