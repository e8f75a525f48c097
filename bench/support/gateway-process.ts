// Starts a controller in a process of its own (gateway-child.ts) for the proxy benches, like
// in production, so the load generator does not share its event loop; and reads what CPU it
// spends (independent of how busy the machine is, unlike the timings).
import { fork, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const BENCH_SLUG = 'everything-http';
/** The group of the identity provider's tokens that the bench controller maps to admin. */
export const BENCH_ADMINS = 'bench-admins';

/** A registry directory of its own holding only the bench's server (remove it when done). */
export async function benchRegistry(prefix: string): Promise<string> {
  const registry = await mkdtemp(path.join(tmpdir(), prefix));
  const root = path.resolve(import.meta.dirname, '../..');
  await cp(path.join(root, 'registry/servers', BENCH_SLUG), path.join(registry, BENCH_SLUG), {
    recursive: true,
  });
  return registry;
}

export interface GatewayChildReady {
  port: number;
  upstreamUrl: string;
}

export interface GatewayProcess {
  child: ChildProcess;
  /** http://127.0.0.1:port */
  url: string;
  /** The server's MCP endpoint through the gateway. */
  endpoint: string;
  /** The backend's own URL. */
  upstreamUrl: string;
  /** The controller process's user + system CPU so far, µs. */
  cpuUs(): Promise<number>;
  close(): Promise<void>;
}

export async function startGatewayProcess(
  registryDir: string,
  options: {
    issuer?: string;
    keyHashingSecret?: string;
    cpuProfileDir?: string;
    /** false: the controller keeps no audit log. */
    audit?: false;
    /** A real PostgreSQL instead of the embedded store. */
    databaseUrl?: string;
  } = {},
): Promise<GatewayProcess> {
  const args = [registryDir];
  if (options.issuer) args.push('--issuer', options.issuer);
  if (options.keyHashingSecret) args.push('--key-hashing-secret', options.keyHashingSecret);
  if (options.audit === false) args.push('--no-audit');
  if (options.databaseUrl) args.push('--database-url', options.databaseUrl);
  const child = fork(path.join(import.meta.dirname, 'gateway-child.ts'), args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [
      ...process.execArgv,
      ...(options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : []),
    ],
  });
  const ready = await new Promise<GatewayChildReady>((resolve, reject) => {
    child.once('message', (m) => resolve(m as GatewayChildReady));
    child.once('exit', (code) => reject(new Error(`the gateway process exited (${code})`)));
  });
  const url = `http://127.0.0.1:${ready.port}`;
  return {
    child,
    url,
    endpoint: `${url}/servers/${BENCH_SLUG}/mcp`,
    upstreamUrl: ready.upstreamUrl,
    cpuUs: () =>
      new Promise((resolve) => {
        child.once('message', (m) => {
          const { user, system } = (m as { cpu: NodeJS.CpuUsage }).cpu;
          resolve(user + system);
        });
        child.send({ cmd: 'cpu' });
      }),
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}
