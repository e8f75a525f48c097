// Pod IP allocation from one node's podCIDR (IPv4). Addresses are handed out round-robin so a
// released address is not reused at once (a stale EndpointSlice entry then points nowhere rather
// than at a different pod). The network address, .1 and the broadcast address are never used.
export interface IpAllocator {
  readonly cidr: string;
  allocate(owner: string): string;
  release(ip: string): void;
  contains(ip: string): boolean;
}

export const ipToInt = (ip: string): number => {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return (((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) >>> 0;
};

export const intToIp = (n: number): string =>
  [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

export function parseCidr(cidr: string): { base: number; prefix: number; size: number } {
  const [address, prefixText] = cidr.split('/');
  const prefix = Number(prefixText);
  if (!address || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) {
    throw new Error(`unsupported CIDR ${cidr} (IPv4, /8 to /30)`);
  }
  const size = 2 ** (32 - prefix);
  const base = ipToInt(address) - (ipToInt(address) % size);
  return { base, prefix, size };
}

export function createIpAllocator(cidr: string): IpAllocator {
  const { base, size } = parseCidr(cidr);
  const used = new Map<number, string>();
  const first = 2;
  const last = size - 2;
  let next = first;
  return {
    cidr,
    allocate(owner) {
      for (let tries = 0; tries <= last - first; tries++) {
        const offset = next;
        next = next >= last ? first : next + 1;
        if (!used.has(offset)) {
          used.set(offset, owner);
          return intToIp(base + offset);
        }
      }
      throw new Error(`pod CIDR ${cidr} is exhausted (${used.size} addresses in use)`);
    },
    release(ip) {
      used.delete(ipToInt(ip) - base);
    },
    contains(ip) {
      const n = ipToInt(ip);
      return n >= base && n < base + size;
    },
  };
}
