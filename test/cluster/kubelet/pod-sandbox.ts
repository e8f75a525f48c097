// The pod sandbox: a network namespace per pod (`ip netns add mcpf-<id>`) with a veth pair whose
// host end is attached to the pod-network bridge, the pod IP from the node's podCIDR, lo up and a
// default route via the bridge address. Every sandbox has an owner marker (this process's pid and
// start time) written before the namespace exists, so a later run can sweep the leftovers of a
// crashed one without touching the sandboxes of a kubelet that is still alive.
import fs from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { run } from './run.ts';
import type { Logger } from './logger.ts';

export interface PodNetworkConfig {
  /** Host bridge the pods attach to (created by ensurePodNetworkBridge()). */
  bridge: string;
  /** The bridge's address: the pods' default gateway and the node's InternalIP. */
  gateway: string;
  /** Prefix length of the bridge network, e.g. 16 for 10.244.0.0/16. */
  prefixLength: number;
}

export interface Sandbox {
  id: string;
  netnsName: string;
  /** /run/netns/<name>, for setns(2) / nsenter --net= */
  netnsPath: string;
  hostVeth: string;
  ip: string;
}

const NETNS_PREFIX = 'mcpf-';
const VETH_PREFIX = 'mcpf';
const MARKER_DIR = '/run/mcpfleet-kubelet/sandboxes';

const selfIdentity = (): string => `${process.pid} ${processStartTime(process.pid)}`;

function processStartTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime), counted after the parenthesised command name.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function ownerAlive(identity: string): boolean {
  const [pidText, start] = identity.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  return processStartTime(pid) === start && start !== '';
}

/** Sandbox id from the pod UID: 8 hex digits keep the veth name within IFNAMSIZ. */
export const sandboxIdFor = (podUID: string): string => podUID.replace(/-/g, '').slice(0, 8);

export async function checkBridge(config: PodNetworkConfig): Promise<void> {
  let out: string;
  try {
    out = await run('ip', ['-j', 'addr', 'show', 'dev', config.bridge]);
  } catch (err) {
    throw new Error(
      `kubelet: pod-network bridge ${config.bridge} is missing (run ensurePodNetworkBridge() ` +
        `from test/cluster/control-plane/pod-network.ts first): ${String(err)}`,
      { cause: err },
    );
  }
  const links = JSON.parse(out) as { addr_info?: { local?: string }[] }[];
  const addresses = links.flatMap((link) => link.addr_info ?? []).map((a) => a.local);
  if (!addresses.includes(config.gateway)) {
    throw new Error(
      `kubelet: bridge ${config.bridge} does not carry ${config.gateway} (has ${addresses.join(', ')})`,
    );
  }
}

export async function createSandbox(
  podUID: string,
  ip: string,
  config: PodNetworkConfig,
): Promise<Sandbox> {
  const id = sandboxIdFor(podUID);
  const sandbox: Sandbox = {
    id,
    netnsName: `${NETNS_PREFIX}${id}`,
    netnsPath: `/run/netns/${NETNS_PREFIX}${id}`,
    hostVeth: `${VETH_PREFIX}${id}`,
    ip,
  };
  await fs.mkdir(MARKER_DIR, { recursive: true });
  await fs.writeFile(path.join(MARKER_DIR, id), `${selfIdentity()}\n`);
  // A leftover of the same pod (a restart of this kubelet) is replaced.
  await deleteNetns(sandbox.netnsName);
  await deleteLink(sandbox.hostVeth);
  try {
    const ns = sandbox.netnsName;
    await run('ip', ['netns', 'add', ns]);
    // The peer is born inside the namespace: an `eth0` never exists in the host namespace.
    await run('ip', [
      'link',
      'add',
      sandbox.hostVeth,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      ns,
    ]);
    await run('ip', ['link', 'set', sandbox.hostVeth, 'master', config.bridge, 'up']);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', ns, 'addr', 'add', `${ip}/${config.prefixLength}`, 'dev', 'eth0']);
    await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    await run('ip', ['-n', ns, 'route', 'add', 'default', 'via', config.gateway, 'dev', 'eth0']);
  } catch (err) {
    await destroySandbox(sandbox).catch(() => undefined);
    throw err;
  }
  return sandbox;
}

async function deleteNetns(name: string): Promise<void> {
  // Processes still inside keep the namespace alive after `ip netns del`: kill them first.
  const pids = await run('ip', ['netns', 'pids', name]).catch(() => '');
  for (const pid of pids.split(/\s+/).map(Number)) {
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await run('ip', ['netns', 'del', name]).catch(() => undefined);
}

async function deleteLink(name: string): Promise<void> {
  await run('ip', ['link', 'del', name]).catch(() => undefined);
}

export async function destroySandbox(sandbox: Sandbox): Promise<void> {
  await deleteNetns(sandbox.netnsName);
  // Deleting the namespace destroys eth0 and with it the host end; this covers a half-built pair.
  await deleteLink(sandbox.hostVeth);
  await fs.rm(path.join(MARKER_DIR, sandbox.id), { force: true });
}

/** Removes sandboxes whose owning kubelet process is gone (or that have no owner marker). */
export async function sweepStaleSandboxes(logger: Logger): Promise<string[]> {
  const swept: string[] = [];
  const owners = new Map<string, string>();
  for (const entry of await fs.readdir(MARKER_DIR).catch(() => [] as string[])) {
    owners.set(entry, await fs.readFile(path.join(MARKER_DIR, entry), 'utf8').catch(() => ''));
  }
  const stale = (id: string): boolean => !ownerAlive(owners.get(id) ?? '');

  const netnsList = await run('ip', ['netns', 'list']).catch(() => '');
  for (const line of netnsList.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    // Exactly our names (mcpf-<8 hex>): other tools' namespaces are none of our business.
    const match = /^mcpf-([0-9a-f]{8})$/.exec(name);
    if (!match) continue;
    const id = match[1]!;
    if (!stale(id)) continue;
    await deleteNetns(name);
    swept.push(name);
  }
  const links = JSON.parse((await run('ip', ['-j', 'link', 'show']).catch(() => '')) || '[]') as {
    ifname?: string;
  }[];
  for (const link of links) {
    const name = link.ifname ?? '';
    const match = /^mcpf([0-9a-f]{8})$/.exec(name);
    if (!match || !stale(match[1]!)) continue;
    await deleteLink(name);
    swept.push(name);
  }
  for (const id of owners.keys()) {
    if (stale(id)) await fs.rm(path.join(MARKER_DIR, id), { force: true });
  }
  if (swept.length) logger.info(`swept stale sandboxes: ${swept.join(', ')}`);
  return swept;
}
