import { BlockList, isIP } from 'node:net';

/**
 * Where merchant webhooks may be sent (contract §5, SSRF): `https` only (plain `http` when the
 * policy allows it, as in development), and never to an address that is not on the public
 * internet — loopback, private, link-local, unique-local, shared (CGNAT), unspecified, multicast,
 * reserved, cloud metadata — nor to one of those embedded in an IPv6 address (IPv4-mapped,
 * IPv4-compatible, NAT64, 6to4). The only way round it is an exact `host:port` entry of the
 * allowlist (development: the local receiver). The checks are pure: the API applies them to the
 * URL and to what its host resolves to at creation, the delivery again to every address its DNS
 * lookup returns at connect time (so a name that rebinds to a private address gets no connection).
 */

export interface WebhookAddressPolicy {
  /** Accept `http:` URLs (development and tests only). */
  allowHttp: boolean;
  /** Normalised `host:port` entries (see `parseHostPortList`) exempt from the address checks. */
  privateAllowlist: readonly string[];
}

/** Why an address is refused. */
export type AddressRange =
  | 'unspecified' | 'loopback' | 'private' | 'link_local' | 'unique_local' | 'shared' | 'multicast' | 'reserved' | 'metadata';

/** Cloud metadata services: refused by address and by name (they are link-local or ULA anyway). */
const METADATA_V4 = '169.254.169.254';
const METADATA_V6 = ['fd00:ec2::254'];
const METADATA_HOSTNAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

const V4_RANGES: readonly [string, number, AddressRange][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['127.0.0.0', 8, 'loopback'],
  ['10.0.0.0', 8, 'private'],
  ['172.16.0.0', 12, 'private'],
  ['192.168.0.0', 16, 'private'],
  ['169.254.0.0', 16, 'link_local'],
  ['100.64.0.0', 10, 'shared'], // carrier-grade NAT (RFC 6598)
  ['192.0.0.0', 24, 'reserved'], // IETF protocol assignments
  ['192.0.2.0', 24, 'reserved'], // documentation (TEST-NET-1..3)
  ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'],
  ['198.18.0.0', 15, 'reserved'], // benchmarking
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // future use, and 255.255.255.255 (broadcast)
];
const V6_RANGES: readonly [string, number, AddressRange][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fe80::', 10, 'link_local'],
  ['fec0::', 10, 'private'], // deprecated site-local
  ['fc00::', 7, 'unique_local'],
  ['ff00::', 8, 'multicast'],
  ['100::', 64, 'reserved'], // discard-only
  ['2001:db8::', 32, 'reserved'], // documentation
  ['64:ff9b:1::', 48, 'reserved'], // local-use NAT64: translates to anything, private included
];

function blockListOf(ranges: readonly [string, number, AddressRange][], family: 'ipv4' | 'ipv6') {
  return ranges.map(([network, prefix, range]) => {
    const list = new BlockList();
    list.addSubnet(network, prefix, family);
    return { list, range };
  });
}
const V4_LISTS = blockListOf(V4_RANGES, 'ipv4');
const V6_LISTS = blockListOf(V6_RANGES, 'ipv6');

/**
 * The range that makes `address` (an IPv4 or IPv6 literal, without brackets) unreachable for
 * webhooks, or null when it is a public address. Anything that is not an IP literal is refused
 * as `reserved` (the caller resolves names first).
 *
 * @example
 * classifyAddress('10.1.2.3') // 'private'
 * classifyAddress('::ffff:127.0.0.1') // 'loopback'
 * classifyAddress('93.184.216.34') // null
 */
export function classifyAddress(address: string): AddressRange | null {
  const family = isIP(address);
  if (family === 4) return classifyV4(address);
  if (family !== 6) return 'reserved';
  const text = address.toLowerCase().split('%')[0]!; // a zone id (`fe80::1%eth0`) is link-local anyway
  const words = ipv6Words(text);
  if (METADATA_V6_WORDS.some((m) => m.every((w, i) => w === words[i]))) return 'metadata';
  for (const { list, range } of V6_LISTS) if (list.check(text, 'ipv6')) return range;
  const embedded = embeddedIpv4(words);
  return embedded === null ? null : classifyV4(embedded);
}

function classifyV4(address: string): AddressRange | null {
  if (address === METADATA_V4) return 'metadata';
  for (const { list, range } of V4_LISTS) if (list.check(address, 'ipv4')) return range;
  return null;
}

/** The eight 16-bit words of a valid IPv6 literal (a trailing dotted quad included). */
function ipv6Words(text: string): number[] {
  let s = text;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    s = `${s.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = s.split('::');
  const headWords = head === '' ? [] : head.split(':');
  const restWords = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros = rest === undefined ? [] : Array<string>(8 - headWords.length - restWords.length).fill('0');
  return [...headWords, ...zeros, ...restWords].map((w) => parseInt(w, 16));
}

const METADATA_V6_WORDS = METADATA_V6.map(ipv6Words);

/** The IPv4 address an IPv6 address stands for, when it embeds one. */
function embeddedIpv4(words: readonly number[]): string | null {
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zero = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  if (zero(0, 5) && words[5] === 0xffff) return v4(words[6]!, words[7]!); // IPv4-mapped ::ffff:a.b.c.d
  if (zero(0, 6)) return v4(words[6]!, words[7]!); // IPv4-compatible ::a.b.c.d (deprecated)
  if (words[0] === 0x64 && words[1] === 0xff9b && zero(2, 6)) return v4(words[6]!, words[7]!); // NAT64 64:ff9b::/96
  if (words[0] === 0x2002) return v4(words[1]!, words[2]!); // 6to4 2002:aabb:ccdd::/48
  return null;
}

/**
 * Parses `host:port[,host:port…]` (`[::1]:4020` for IPv6) into normalised entries: host lower
 * case, without a trailing dot, IPv6 in its canonical bracketed form. Throws RangeError naming a
 * bad entry. An entry must name its port: the exemption is for one service, not a whole host.
 */
export function parseHostPortList(text: string): string[] {
  return text.split(',').map((part) => part.trim()).filter(Boolean).map((entry) => {
    const match = /^(\[[0-9A-Fa-f:.]+\]|[^\s:/[\]@]+):(\d{1,5})$/.exec(entry);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65_535) throw new RangeError(`${JSON.stringify(entry)} is not host:port`);
    let host: string;
    try {
      host = new URL(`http://${match[1]}/`).hostname;
    } catch {
      throw new RangeError(`${JSON.stringify(entry)} is not host:port`);
    }
    return hostPortKey(bareHost(host), port);
  });
}

export type UrlVerdict =
  | {
    ok: true;
    /** Lower case, brackets and trailing dot removed: what DNS or `net.connect` is given. */
    hostname: string;
    port: number;
    /** An exact `host:port` entry of the allowlist: no address check applies. */
    allowlisted: boolean;
    /** The host is an IP literal (already checked here; nothing to resolve). */
    literal: boolean;
  }
  | { ok: false; reason: string };

/**
 * Checks a webhook URL itself: the scheme, a metadata host name, an IP literal host. A host name
 * that passes must still have its addresses checked (`checkResolvedAddresses`) unless allowlisted.
 *
 * @example
 * checkWebhookUrl('https://10.0.0.1/hook', policy) // { ok: false, reason: 'the host is a private address' }
 */
export function checkWebhookUrl(value: string | URL, policy: WebhookAddressPolicy): UrlVerdict {
  let url: URL;
  try {
    url = typeof value === 'string' ? new URL(value) : value;
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    return { ok: false, reason: policy.allowHttp ? 'the URL must be http(s)' : 'the URL must be https' };
  }
  const hostname = bareHost(url.hostname);
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const literal = isIP(hostname) !== 0;
  const allowlisted = policy.privateAllowlist.includes(hostPortKey(hostname, port));
  if (!allowlisted) {
    if (METADATA_HOSTNAMES.has(hostname)) return { ok: false, reason: 'the host is a cloud metadata service' };
    const range = literal ? classifyAddress(hostname) : null;
    if (range) return { ok: false, reason: `the host is a ${describe(range)} address` };
  }
  return { ok: true, hostname, port, allowlisted, literal };
}

/**
 * Checks every address a host name resolved to: one refused address refuses them all (a
 * resolver may hand out any of them, and a rebinding name mixes public and private answers).
 */
export function checkResolvedAddresses(addresses: readonly string[]): { ok: true } | { ok: false; address: string; reason: string } {
  for (const address of addresses) {
    const range = classifyAddress(address);
    if (range) return { ok: false, address, reason: `it resolves to a ${describe(range)} address` };
  }
  return { ok: true };
}

function describe(range: AddressRange): string {
  return range === 'metadata' ? 'cloud metadata' : range.replace('_', '-');
}

/** The allowlist's spelling: `host:port`, an IPv6 host in brackets. */
function hostPortKey(bare: string, port: number): string {
  return `${isIP(bare) === 6 ? `[${bare}]` : bare}:${port}`;
}

/** `[::1]` → `::1`, `Example.COM.` → `example.com`. */
function bareHost(hostname: string): string {
  const host = hostname.toLowerCase();
  const unbracketed = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return unbracketed.endsWith('.') ? unbracketed.slice(0, -1) : unbracketed;
}
