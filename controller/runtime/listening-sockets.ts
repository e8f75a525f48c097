// What a set of processes actually listens on, read from /proc: each process's descriptors
// name their sockets by inode (/proc/<pid>/fd/* → "socket:[inode]"), and the kernel's TCP
// tables (/proc/<pid>/net/tcp and tcp6, the table of that process's network namespace) give
// each listening inode its local address. What a server was told (HOST=127.0.0.1) is not
// what it does: only this says whether it can be reached from the network.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ListeningSocket {
  /** 127.0.0.1, 0.0.0.0, ::, ::1, ::ffff:127.0.0.1 ... */
  address: string;
  port: number;
}

/** TCP state LISTEN in the kernel's tables. */
const LISTEN = '0A';

/** The TCP sockets `pids` listen on; empty where there is no /proc. */
export function listeningSockets(pids: readonly number[]): ListeningSocket[] {
  const inodes = new Set(pids.flatMap(socketInodes));
  if (inodes.size === 0) return [];
  const found = new Map<string, ListeningSocket>();
  // One process's tables list every socket of its network namespace: one read a namespace.
  const namespaces = new Set<string>();
  for (const pid of pids) {
    const namespace = networkNamespace(pid);
    if (namespace === undefined || namespaces.has(namespace)) continue;
    namespaces.add(namespace);
    for (const table of ['tcp', 'tcp6'] as const) {
      for (const socket of readTable(pid, table, inodes)) {
        found.set(`${socket.address}|${socket.port}`, socket);
      }
    }
  }
  return [...found.values()];
}

/** Whether only this machine can reach `address`. */
export function isLoopbackAddress(address: string): boolean {
  return address === '::1' || /^127\./.test(address) || /^::ffff:127\./.test(address.toLowerCase());
}

/** `address:port`, with brackets around an IPv6 address. */
export function formatSocket(socket: ListeningSocket): string {
  return socket.address.includes(':')
    ? `[${socket.address}]:${socket.port}`
    : `${socket.address}:${socket.port}`;
}

function networkNamespace(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

function socketInodes(pid: number): string[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const inodes: string[] = [];
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.push(match[1]!);
    } catch {
      /* closed meanwhile */
    }
  }
  return inodes;
}

function readTable(pid: number, table: 'tcp' | 'tcp6', inodes: Set<string>): ListeningSocket[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
  } catch {
    return [];
  }
  const sockets: ListeningSocket[] = [];
  // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [local, state, inode] = [fields[1], fields[3], fields[9]];
    if (!local || state !== LISTEN || !inode || !inodes.has(inode)) continue;
    const [hex, port] = local.split(':');
    sockets.push({ address: decodeAddress(hex ?? ''), port: parseInt(port ?? '0', 16) });
  }
  return sockets;
}

/** The kernel prints each 32-bit word of the address in host (little-endian) byte order. */
function decodeAddress(hex: string): string {
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8) {
    const chunk = hex.slice(word, word + 8);
    for (let i = 6; i >= 0; i -= 2) bytes.push(parseInt(chunk.slice(i, i + 2), 16));
  }
  if (bytes.length === 4) return bytes.join('.');
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255;
  if (mapped) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // The URL parser writes an IPv6 address in its canonical short form (RFC 5952).
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}
