// A server.json with `remotes` only → a RemoteSpec: the gateway proxies to the selected remote
// URL (its {variables} and headers filled in from inputs and secrets), and the egress it needs
// is that URL's host and port, before the settings' own rules.
import type { CommonSpec } from './common-spec.ts';
import { InputResolver } from './inputs.ts';
import type { RemoteTransport } from './official-schema.ts';
import { PLATFORM_META_PATH as META_PATH, type PlatformSettings } from './platform-schema.ts';
import { joinPath } from './read-json.ts';
import type { EgressRule, Problem, RemoteSpec } from './spec.ts';

export function compileRemote(
  remotes: RemoteTransport[],
  settings: PlatformSettings,
  common: CommonSpec,
  problems: Problem[],
): RemoteSpec | undefined {
  const file = common.source;
  const index = settings.remote ?? 0;
  const remote = remotes[index];
  if (!remote) {
    problems.push({
      file,
      path: joinPath(META_PATH, 'remote'),
      rule: 'deployable-selection',
      message: `no such remote: use an index 0..${remotes.length - 1}`,
    });
    return undefined;
  }
  const path = joinPath('remotes', index);
  const resolver = new InputResolver(settings, file, problems);
  const known = Object.keys(remote.variables ?? {});
  const url = resolver.substitute(remote.url, remote.variables, joinPath(path, 'url'));
  const unresolved = /\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(url);
  if (unresolved) {
    problems.push({
      file,
      path: joinPath(path, 'url'),
      rule: 'inputs-filled',
      message: `URL variable {${unresolved[1]}} has no value: declare it under "variables" and set ${joinPath(joinPath(META_PATH, 'inputs'), unresolved[1] as string)}`,
    });
  }
  const headers: Record<string, string> = {};
  (remote.headers ?? []).forEach((header, i) => {
    known.push(header.name);
    const values = resolver.resolve(header, [header.name], joinPath(joinPath(path, 'headers'), i), {
      secretEnvName: header.name,
    });
    const value = values?.[0];
    if (value !== undefined && value !== `$(${header.name})`) headers[header.name] = value;
  });
  resolver.reportUnused(known);
  if (problems.length) return undefined;

  let egress: EgressRule[] = settings.egress ?? [];
  try {
    const parsed = new URL(url);
    const port = parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
    egress = [{ host: parsed.hostname, ports: [port] }, ...egress];
  } catch {
    problems.push({
      file,
      path: joinPath(path, 'url'),
      rule: 'inputs-filled',
      message: `"${url}" is not a valid URL after substitution`,
    });
    return undefined;
  }
  return {
    ...common,
    kind: 'remote',
    upstream: { type: remote.type, url, headers, secretHeaders: resolver.secretEnv },
    egress,
  };
}
