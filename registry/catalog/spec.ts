// ServerSpec: the normalized deployment plan compiled from one server.json.
//
// This is the contract between the registry compiler and its two consumers: the Pulumi
// program (infra/) and the controller (controller/). Both read only this shape, never
// server.json, so neither re-implements the compiler. It is plain JSON (no classes, no
// functions) because it also travels to the cluster in a ConfigMap.
import type { ProblemRule } from './platform-rules.ts';

export const SPEC_API_VERSION = 'mcpfleet.dev/v1' as const;

export type Arch = 'amd64' | 'arm64';
export const ARCHES: readonly Arch[] = ['amd64', 'arm64'];

/** What runs in the container for one architecture. */
export type Artifact =
  /** An OCI image that is the server itself (registryType "oci"). */
  | { type: 'image'; image: string }
  /**
   * A package run by a runner image (Node for npm, Python+uv for PyPI, .NET for NuGet).
   * The runner image is chosen by the infra config; packages are baked at deploy time.
   */
  | {
      type: 'package';
      runner: 'node' | 'python' | 'dotnet';
      registryType: 'npm' | 'pypi' | 'nuget';
      identifier: string;
      version: string;
      registryBaseUrl?: string;
    }
  /** An MCP bundle, fetched and sha256-verified (fail closed) before the server starts. */
  | { type: 'mcpb'; url: string; sha256: string; runner: 'node' | 'python' };

/** How the gateway talks to the server once it runs. */
export type Transport =
  /** stdio servers sit behind the built-in stdio bridge. */
  | { type: 'stdio' }
  /**
   * The server speaks HTTP itself. `port` is where it listens in a pod; `portVariable`
   * names the env var / argument the URL template used for the port (e.g. "PORT"), which a
   * runtime sets when it allocates a port. `hostVariable` likewise names the variable the
   * URL template used for the host (http://{HOST}:{PORT}/mcp): the server's own bind-address
   * setting, POD_BIND_ADDRESS in a pod, loopback on a laptop. `path` is the MCP endpoint path.
   */
  | {
      type: 'streamable-http' | 'sse';
      port: number;
      path: string;
      portVariable?: string;
      hostVariable?: string;
    };

/** Where a server with a bind-address setting listens in its pod: the pod's every address. */
export const POD_BIND_ADDRESS = '0.0.0.0';

/** A secret value fed from a Kubernetes Secret key (never an inline value). */
export interface SecretRef {
  /** Environment variable the value lands in. */
  env: string;
  /** Kubernetes Secret name (in the server's namespace). */
  secretName: string;
  /** Key inside that Secret. */
  key: string;
}

export interface Scaling {
  minReplicas: number;
  maxReplicas: number;
  /** Milliseconds without traffic or in-flight requests before the server sleeps. */
  idleTimeoutMs: number;
  sessionsPerReplica: number;
}

export interface Health {
  /** Milliseconds between MCP pings while awake. */
  intervalMs: number;
  /** Milliseconds a single probe may take. */
  timeoutMs: number;
  /** Consecutive failed probes before the server is unhealthy. */
  failureThreshold: number;
  /** Milliseconds a wake may take before held requests get 504. */
  startupTimeoutMs: number;
}

export interface Sessions {
  /**
   * A client's session outlives its backend (sleep, crash, pod gone): the gateway replays the
   * client's initialize, log level and subscriptions to a new backend. false: the session ends
   * with its backend (404, the client re-initializes) — for servers whose sessions hold state
   * a replay cannot restore.
   */
  resume: boolean;
  /** Sessions one client may hold at once; absent: the default share of the capacity. */
  maxPerClient?: number;
  /** A session with no request but pings for this long is ended; absent: the default. */
  idleTimeoutMs?: number;
}

/**
 * Where a server with `storage` finds its persistent directory: this variable, set by the
 * platform (first in the environment, so Kubernetes expands `$(MCPFLEET_DATA_DIR)` in later
 * variables), names the volume's mount in a cluster and a per-server directory on a laptop.
 */
export const DATA_DIR_VARIABLE = 'MCPFLEET_DATA_DIR';
/** The volume's mount path in a server's pod. */
export const STORAGE_MOUNT_PATH = '/var/lib/mcpfleet/data';

/** A persistent volume for a server's files (sizes as Kubernetes quantities, e.g. "1Gi"). */
export interface Storage {
  size: string;
  /** Absent: the cluster's default StorageClass. */
  storageClass?: string;
}

/** Kubernetes resource quantities, e.g. { cpu: "100m", memory: "128Mi" }. */
export interface ResourceList {
  cpu?: string;
  memory?: string;
}
export interface Resources {
  requests: ResourceList;
  limits: ResourceList;
}

/** One allowed egress destination: a DNS name or a CIDR, with ports. */
export interface EgressRule {
  host?: string;
  cidr?: string;
  ports: number[];
}

/**
 * How to run the server as a process on a laptop (the local runtime), or why it cannot.
 * `command`/`args` may reference secrets as `$(VAR)` (Kubernetes syntax); the runtime
 * expands them from the environment it builds.
 */
export type LocalLaunch =
  | {
      runnable: true;
      command: string;
      args: string[];
      /** For npm packages: the runtime may run an installed copy instead of npx. */
      npmPackage?: { name: string; version: string };
      /**
       * For PyPI packages: the runtime may run a copy installed ahead of time (`mcpfleet registry
       * install`) instead of uvx, so a wake never resolves or downloads anything.
       */
      pythonPackage?: { name: string; version: string };
      /** Executables that must be on PATH (e.g. "uvx"); the runtime reports if missing. */
      requires: string[];
    }
  | { runnable: false; reason: string };

/**
 * Who may use a server and which of its tools (server.json `_meta` access, as written there):
 * groups, scopes and keys admit whoever matches one entry of any (none given: everyone the
 * gateway admits); `tools.allow` patterns (absent: all) minus `tools.deny`. `*` in a tool
 * pattern stands for any characters. The controller evaluates it with Cedar.
 */
export interface Access {
  groups?: string[];
  scopes?: string[];
  /** API key names. */
  keys?: string[];
  tools?: { allow?: string[]; deny?: string[] };
}

interface SpecCommon {
  apiVersion: typeof SPEC_API_VERSION;
  /** DNS-1123 label from the directory name: Kubernetes names and /servers/<slug>/mcp. */
  slug: string;
  /** Official reverse-DNS server name, e.g. "io.github.modelcontextprotocol/everything". */
  name: string;
  /** Display name: server.json title, else the part of the name after the slash. */
  title: string;
  description: string;
  version: string;
  /** The server.json path relative to the registry directory. */
  source: string;
  scaling: Scaling;
  health: Health;
  sessions: Sessions;
  /** _meta keys other than dev.mcpfleet/v1, preserved verbatim. */
  meta: Record<string, unknown>;
  /** Absent: everyone the gateway admits may use it, and call every tool. */
  access?: Access;
}

/** A server mcpfleet runs: one Deployment + Service + NetworkPolicy in a cluster. */
export interface WorkloadSpec extends SpecCommon {
  kind: 'workload';
  /** Index into server.json `packages` of the package(s) deployed, per architecture. */
  packageIndex: Partial<Record<Arch, number>>;
  /** The artifact per architecture it can run on; at least one. */
  artifacts: Partial<Record<Arch, Artifact>>;
  /** Set when only one architecture is possible: becomes the kubernetes.io/arch selector. */
  nodeArch?: Arch;
  /**
   * The full argv inside the artifact, every argument resolved. For "image" artifacts this
   * is only the args (the image's entrypoint runs); for packages it starts with the runner
   * command (npx / uvx / dnx); for mcpb it is the bundle's entry point args.
   */
  command: string[];
  args: string[];
  /** Plain environment variables (non-secret). */
  env: Record<string, string>;
  secretEnv: SecretRef[];
  transport: Transport;
  /**
   * stdio servers: the bridge keeps one process started ahead of the next session (hides
   * its start time; costs one idle process per awake server). Ignored for HTTP servers.
   */
  warmSpare: boolean;
  resources: Resources;
  egress: EgressRule[];
  /** A persistent volume at $(MCPFLEET_DATA_DIR); absent: none. */
  storage?: Storage;
  local: LocalLaunch;
}

/** A server that runs elsewhere; the gateway proxies to its URL. No workload. */
export interface RemoteSpec extends SpecCommon {
  kind: 'remote';
  upstream: {
    type: 'streamable-http' | 'sse';
    url: string;
    /** Plain headers added to every upstream request. */
    headers: Record<string, string>;
    /** Headers whose value comes from a Secret; `env` is the header name here. */
    secretHeaders: SecretRef[];
  };
  egress: EgressRule[];
}

export type ServerSpec = WorkloadSpec | RemoteSpec;

/** One located problem: which file, where in it (a JSON path), what is wrong and the fix. */
export interface Problem {
  file: string;
  /** JSON path like `packages[0].version`; "$" for the whole document. */
  path: string;
  message: string;
  /**
   * Which rule refuses it: "official-schema" for the official server.json schema, otherwise a
   * platform rule of PLATFORM_RULES (platform-rules.ts) — what mcpfleet cannot deploy.
   */
  rule?: ProblemRule;
  /** Where in the file (1-based), when the file's text is at hand. */
  line?: number;
  column?: number;
}
