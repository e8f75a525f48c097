// The host side of the test pod network: a Linux bridge that pod network namespaces attach to
// (through veth pairs) and on which kube-apiserver listens, so the host and pods reach it alike.
import { execFileSync } from 'node:child_process';

export const POD_BRIDGE = 'mcpfleet0';
/** The bridge's address: the pods' gateway and kube-apiserver's bind and advertise address. */
export const POD_GATEWAY_IP = '10.244.0.1';
export const POD_NETWORK_PREFIX = 16;
export const POD_NETWORK_CIDR = '10.244.0.0/16';

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function failure(step: string, error: unknown): Error {
  const stderr = (error as { stderr?: Buffer | string }).stderr?.toString().trim();
  return new Error(
    `pod network: \`ip ${step}\` failed: ${stderr || (error as Error).message}. ` +
      `The cluster tests need root (CAP_NET_ADMIN) to create the bridge ${POD_BRIDGE}.`,
  );
}

/**
 * Makes sure bridge `mcpfleet0` exists, holds 10.244.0.1/16 and is up. Idempotent and cheap
 * when it is already so. Throws a clear error without root or without the `ip` command.
 */
export function ensurePodNetworkBridge(): { bridge: string; gatewayIp: string; cidr: string } {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `pod network: creating bridge ${POD_BRIDGE} needs root; run the cluster tests as root.`,
    );
  }
  let links: string;
  try {
    links = ip(['-o', 'link', 'show', 'type', 'bridge']);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('pod network: the `ip` command (iproute2) is not installed.', {
        cause: error,
      });
    }
    throw failure('link show', error);
  }
  if (!links.split('\n').some((line) => line.split(':')[1]?.trim() === POD_BRIDGE)) {
    try {
      ip(['link', 'add', POD_BRIDGE, 'type', 'bridge']);
    } catch (error) {
      // Another process may have created it between our look and our add.
      if (!/File exists/.test(String((error as { stderr?: Buffer }).stderr))) {
        throw failure(`link add ${POD_BRIDGE} type bridge`, error);
      }
    }
  }
  const address = `${POD_GATEWAY_IP}/${POD_NETWORK_PREFIX}`;
  const addresses = ip(['-o', '-4', 'addr', 'show', 'dev', POD_BRIDGE]);
  if (!addresses.includes(` ${address} `)) {
    try {
      ip(['addr', 'add', address, 'dev', POD_BRIDGE]);
    } catch (error) {
      if (!/File exists/.test(String((error as { stderr?: Buffer }).stderr))) {
        throw failure(`addr add ${address} dev ${POD_BRIDGE}`, error);
      }
    }
  }
  try {
    ip(['link', 'set', POD_BRIDGE, 'up']);
  } catch (error) {
    throw failure(`link set ${POD_BRIDGE} up`, error);
  }
  return { bridge: POD_BRIDGE, gatewayIp: POD_GATEWAY_IP, cidr: POD_NETWORK_CIDR };
}
