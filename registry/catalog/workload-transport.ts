// A workload's transport, from its package's transport URL: stdio, or HTTP with the port and
// path the server listens on, and the variables the URL template names for them
// (http://{HOST}:{PORT}/mcp) — given their values, as inputs or in the environment, so the
// server listens where the runtimes reach it.
import type { InputResolver } from './inputs.ts';
import type { Package } from './official-schema.ts';
import { DEFAULTS, type PlatformSettings } from './platform-schema.ts';
import { POD_BIND_ADDRESS, type Transport } from './spec.ts';

/**
 * The workload's transport. An HTTP one's URL variables ({PORT}, {HOST}) get their values in
 * `resolver` (the port the server listens on in a pod, POD_BIND_ADDRESS) and are `known`.
 */
export function workloadTransport(
  pkg: Package,
  settings: PlatformSettings,
  resolver: InputResolver,
  known: string[],
): Transport {
  if (pkg.transport.type === 'stdio') return { type: 'stdio' };
  const parsed = parseTransportUrl(pkg.transport.url);
  const port = settings.port ?? parsed.port ?? DEFAULTS.port;
  const transport: Transport = {
    type: pkg.transport.type,
    port,
    path: parsed.path,
    ...(parsed.portVariable ? { portVariable: parsed.portVariable } : {}),
    ...(parsed.hostVariable ? { hostVariable: parsed.hostVariable } : {}),
  };
  if (parsed.portVariable) {
    resolver.provide(parsed.portVariable, String(port));
    known.push(parsed.portVariable);
  }
  if (parsed.hostVariable) {
    resolver.provide(parsed.hostVariable, POD_BIND_ADDRESS);
    known.push(parsed.hostVariable);
  }
  return transport;
}

/** The URL's variables are set in the environment, unless they are arguments. */
export function setUrlVariables(
  transport: Transport,
  pkg: Package,
  env: Record<string, string>,
): void {
  if (transport.type === 'stdio') return;
  const urlVariables: [string | undefined, string][] = [
    [transport.portVariable, String(transport.port)],
    [transport.hostVariable, POD_BIND_ADDRESS],
  ];
  for (const [variable, value] of urlVariables) {
    if (variable === undefined || env[variable] !== undefined) continue;
    const isArgument = (pkg.packageArguments ?? []).some(
      (a) => (a.type === 'positional' ? a.valueHint : a.name.replace(/^-+/, '')) === variable,
    );
    if (!isArgument) env[variable] = value;
  }
}

interface ParsedUrl {
  port?: number;
  portVariable?: string;
  /** http://{HOST}:…: the server's bind-address variable. */
  hostVariable?: string;
  path: string;
}

function parseTransportUrl(url: string): ParsedUrl {
  const hostVariable = /^https?:\/\/\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(url)?.[1];
  const parsed = parsePortAndPath(url);
  return hostVariable ? { ...parsed, hostVariable } : parsed;
}

function parsePortAndPath(url: string): ParsedUrl {
  const templated = /^https?:\/\/[^/:]+:\{([A-Za-z_][A-Za-z0-9_]*)\}(\/[^?#]*)?/.exec(url);
  if (templated) return { portVariable: templated[1], path: templated[2] || '/' };
  const literal = /^https?:\/\/[^/:]+(?::(\d+))?(\/[^?#]*)?/.exec(url);
  if (literal)
    return { port: literal[1] ? Number(literal[1]) : undefined, path: literal[2] || '/' };
  return { path: '/mcp' };
}
