/**
 * Pure classification of IP addresses for the outbound policy: which special-purpose block, if any,
 * an IPv4 or IPv6 address falls in. No I/O; `policy.ts` decides what each class means.
 *
 * @see RFC 6890 — Special-Purpose IP Address Registries https://www.rfc-editor.org/rfc/rfc6890
 * @see IANA IPv4 Special-Purpose Address Registry https://www.iana.org/assignments/iana-ipv4-special-registry/
 * @see IANA IPv6 Special-Purpose Address Registry https://www.iana.org/assignments/iana-ipv6-special-registry/
 */

export type AddressClass =
  | 'public'
  | 'unspecified' // 0.0.0.0/8, ::/128 — "this host"; connecting to it reaches the local machine
  | 'loopback' // 127.0.0.0/8, ::1/128
  | 'private' // RFC 1918: 10/8, 172.16/12, 192.168/16
  | 'cgnat' // RFC 6598 shared address space 100.64.0.0/10
  | 'link_local' // 169.254.0.0/16, fe80::/10
  | 'metadata' // cloud instance-metadata services (a few well-known addresses)
  | 'unique_local' // RFC 4193 fc00::/7
  | 'multicast' // 224.0.0.0/4, ff00::/8
  | 'broadcast' // 255.255.255.255/32
  | 'documentation' // 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20
  | 'benchmarking' // 198.18.0.0/15, 2001:2::/48
  | 'protocol' // IETF protocol assignments: 192.0.0.0/24, 2001::/23
  | 'reserved' // 240.0.0.0/4, deprecated or unallocated IPv6 space, anything outside 2000::/3
  | 'invalid'; // not an IP address literal we can read

export interface ParsedIp {
  family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: number[];
}

interface Prefix {
  prefix: number[];
  bits: number;
}

interface Block extends Prefix {
  cls: AddressClass;
}

function v4(text: string, bits: number, cls: AddressClass): Block {
  return { prefix: parseIPv4(text) ?? [], bits, cls };
}

function v6(text: string, bits: number, cls: AddressClass): Block {
  return { prefix: parseIPv6(text) ?? [], bits, cls };
}

function v6prefix(text: string, bits: number): Prefix {
  return { prefix: parseIPv6(text) ?? [], bits };
}

/**
 * Well-known instance-metadata endpoints. They are refused in every mode and can never be
 * allow-listed. Most sit inside ranges refused anyway; naming them makes the refusal explicit.
 * AWS/GCP/Azure/OpenStack 169.254.169.254, AWS ECS 169.254.170.2, AWS IMDS over IPv6
 * fd00:ec2::254, Alibaba Cloud 100.100.100.200, Oracle Cloud 192.0.0.192.
 */
const METADATA: Block[] = [
  v4('169.254.169.254', 32, 'metadata'),
  v4('169.254.170.2', 32, 'metadata'),
  v4('100.100.100.200', 32, 'metadata'),
  v4('192.0.0.192', 32, 'metadata'),
  v6('fd00:ec2::254', 128, 'metadata'),
];

/** First match wins, so narrower blocks come before the blocks that contain them. */
const IPV4_BLOCKS: Block[] = [
  ...METADATA.filter((b) => b.prefix.length === 4),
  v4('0.0.0.0', 8, 'unspecified'), // RFC 6890 §2.2.2 "This host on this network"
  v4('10.0.0.0', 8, 'private'), // RFC 1918
  v4('100.64.0.0', 10, 'cgnat'), // RFC 6598
  v4('127.0.0.0', 8, 'loopback'), // RFC 1122 §3.2.1.3
  v4('169.254.0.0', 16, 'link_local'), // RFC 3927
  v4('172.16.0.0', 12, 'private'), // RFC 1918
  v4('192.0.0.0', 24, 'protocol'), // RFC 6890 §2.2.2
  v4('192.0.2.0', 24, 'documentation'), // RFC 5737
  v4('192.88.99.0', 24, 'reserved'), // RFC 7526, deprecated 6to4 relay anycast
  v4('192.168.0.0', 16, 'private'), // RFC 1918
  v4('198.18.0.0', 15, 'benchmarking'), // RFC 2544
  v4('198.51.100.0', 24, 'documentation'), // RFC 5737
  v4('203.0.113.0', 24, 'documentation'), // RFC 5737
  v4('224.0.0.0', 4, 'multicast'), // RFC 5771
  v4('255.255.255.255', 32, 'broadcast'), // RFC 919
  v4('240.0.0.0', 4, 'reserved'), // RFC 1112 §4
];

/** IPv6 blocks that carry an IPv4 address in their last 32 bits (or, for 6to4, bits 16–47). */
const IPV6_EMBEDDING: Array<{ block: Prefix; offset: number }> = [
  { block: v6prefix('::ffff:0:0', 96), offset: 12 }, // RFC 4291 §2.5.5.2 IPv4-mapped
  { block: v6prefix('::', 96), offset: 12 }, // RFC 4291 §2.5.5.1 IPv4-compatible (deprecated)
  { block: v6prefix('64:ff9b::', 96), offset: 12 }, // RFC 6052 NAT64 well-known prefix
  { block: v6prefix('2002::', 16), offset: 2 }, // RFC 3056 6to4
];

const IPV6_BLOCKS: Block[] = [
  ...METADATA.filter((b) => b.prefix.length === 16),
  v6('64:ff9b:1::', 48, 'reserved'), // RFC 8215 local-use NAT64
  v6('100::', 64, 'reserved'), // RFC 6666 discard-only
  v6('2001:db8::', 32, 'documentation'), // RFC 3849
  v6('2001:2::', 48, 'benchmarking'), // RFC 5180
  v6('2001::', 23, 'protocol'), // RFC 2928, includes Teredo 2001::/32 (RFC 4380)
  v6('3fff::', 20, 'documentation'), // RFC 9637
  v6('fc00::', 7, 'unique_local'), // RFC 4193
  v6('fe80::', 10, 'link_local'), // RFC 4291 §2.5.6
  v6('fec0::', 10, 'reserved'), // RFC 3879, deprecated site-local
  v6('ff00::', 8, 'multicast'), // RFC 4291 §2.7
];

/** Global unicast space (RFC 4291 §2.4); everything else is unassigned or special. */
const IPV6_GLOBAL_UNICAST = v6prefix('2000::', 3);

function matches(bytes: number[], block: Prefix): boolean {
  if (block.prefix.length !== bytes.length) return false;
  let bits = block.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((block.prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** Strict dotted-quad: four decimal octets, no leading zeros (which some parsers read as octal). */
export function parseIPv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    bytes.push(n);
  }
  return bytes;
}

/**
 * RFC 4291 §2.2 text forms: eight groups, one `::`, an optional dotted-quad tail. A zone id
 * (`%eth0`) and surrounding brackets are ignored.
 */
export function parseIPv6(text: string): number[] | undefined {
  let s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.includes('.', lastColon)) {
    const quad = parseIPv4(s.slice(lastColon + 1));
    if (!quad) return undefined;
    tail.push(...quad);
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string | undefined): number[] | undefined => {
    if (half === undefined || half === '') return [];
    const out: number[] = [];
    for (const g of half.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      const n = parseInt(g, 16);
      out.push(n >> 8, n & 0xff);
    }
    return out;
  };
  const head = groups(halves[0]);
  const rest = groups(halves[1]);
  if (!head || !rest) return undefined;
  const given = head.length + rest.length + tail.length;
  if (halves.length === 1 ? given !== 16 : given > 14) return undefined;
  return [...head, ...new Array<number>(16 - given).fill(0), ...rest, ...tail];
}

export function parseIp(text: string): ParsedIp | undefined {
  const bytes4 = parseIPv4(text);
  if (bytes4) return { family: 4, bytes: bytes4 };
  if (!text.includes(':')) return undefined;
  const bytes6 = parseIPv6(text);
  return bytes6 ? { family: 6, bytes: bytes6 } : undefined;
}

function classifyIPv4(bytes: number[]): AddressClass {
  return IPV4_BLOCKS.find((b) => matches(bytes, b))?.cls ?? 'public';
}

function classifyIPv6(bytes: number[]): AddressClass {
  if (bytes.every((b) => b === 0)) return 'unspecified';
  if (bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 1) return 'loopback';
  for (const { block, offset } of IPV6_EMBEDDING) {
    if (matches(bytes, block)) return classifyIPv4(bytes.slice(offset, offset + 4));
  }
  const special = IPV6_BLOCKS.find((b) => matches(bytes, b));
  if (special) return special.cls;
  return matches(bytes, IPV6_GLOBAL_UNICAST) ? 'public' : 'reserved';
}

/**
 * The special-purpose class of an address, or `'public'`. IPv4-mapped (`::ffff:10.0.0.1`, also
 * written `::ffff:a00:1`), IPv4-compatible, NAT64 and 6to4 addresses are classified by the IPv4
 * address they embed, since that is where a connection to them ends up.
 *
 * @see RFC 4291 §2.5.5 https://www.rfc-editor.org/rfc/rfc4291#section-2.5.5
 */
export function classifyAddress(address: string): AddressClass {
  const ip = parseIp(address);
  if (!ip) return 'invalid';
  return ip.family === 4 ? classifyIPv4(ip.bytes) : classifyIPv6(ip.bytes);
}
