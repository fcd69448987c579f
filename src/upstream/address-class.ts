/**
 * Which kind of network an IP address belongs to, so a redirect or a token realm chosen by
 * an upstream cannot point the mirror at itself, the LAN or a cloud metadata service.
 * Ranges: IANA IPv4/IPv6 Special-Purpose Address Registries (RFC 6890 and updates):
 * https://www.iana.org/assignments/iana-ipv4-special-registry/
 * https://www.iana.org/assignments/iana-ipv6-special-registry/
 * Addresses that embed an IPv4 address (IPv4-mapped, NAT64) are judged by that address.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'reserved';

const V4: ReadonlyArray<[string, number, AddressClass]> = [
  ['0.0.0.0', 8, 'reserved'], // "this network"; 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private'], // carrier-grade NAT
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'], // includes the cloud metadata address 169.254.169.254
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'],
  ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'],
  ['224.0.0.0', 4, 'reserved'], // multicast
  ['240.0.0.0', 4, 'reserved'], // includes 255.255.255.255
];

const V6: ReadonlyArray<[string, number, AddressClass]> = [
  ['::', 128, 'reserved'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'private'], // unique local
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'private'], // deprecated site-local, still routed inside some networks
  ['ff00::', 8, 'reserved'], // multicast
  ['2001:db8::', 32, 'reserved'],
  ['100::', 64, 'reserved'], // discard
];

const lists = new Map<AddressClass, BlockList>();
for (const [family, table] of [['ipv4', V4], ['ipv6', V6]] as const) {
  for (const [net, prefix, kind] of table) {
    let list = lists.get(kind);
    if (!list) lists.set(kind, (list = new BlockList()));
    list.addSubnet(net, prefix, family);
  }
}

/** The class of an IP literal; anything that is not an IP address is 'reserved' (never public). */
export function addressClass(address: string): AddressClass {
  const ip = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIPv4(ip)) return classify(ip, 'ipv4');
  if (!isIPv6(ip)) return 'reserved';
  const embedded = embeddedIPv4(ip);
  if (embedded !== undefined) return classify(embedded, 'ipv4');
  return classify(ip, 'ipv6');
}

export function isPublicAddress(address: string): boolean {
  return addressClass(address) === 'public';
}

function classify(ip: string, family: 'ipv4' | 'ipv6'): AddressClass {
  for (const [kind, list] of lists) if (list.check(ip, family)) return kind;
  return 'public';
}

/** The IPv4 address inside ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible) or 64:ff9b::/96 (NAT64). */
function embeddedIPv4(ip: string): string | undefined {
  const groups = expandIPv6(ip);
  if (!groups) return undefined;
  const top = groups.slice(0, 6);
  const mapped = top.slice(0, 5).every((g) => g === 0) && (top[5] === 0xffff || top[5] === 0);
  const nat64 = top[0] === 0x64 && top[1] === 0xff9b && top.slice(2).every((g) => g === 0);
  // ::1 and :: are IPv6 themselves, not compatible-form IPv4.
  if (!(mapped || nat64) || (top[5] === 0 && !nat64 && groups[6] === 0)) return undefined;
  const [hi, lo] = [groups[6]!, groups[7]!];
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** Eight 16-bit groups of a valid IPv6 literal (with or without a trailing dotted IPv4). */
function expandIPv6(ip: string): number[] | undefined {
  let text = ip.split('%')[0]!.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -dotted[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const fill = 8 - left.length - right.length;
  if (fill < 0 || (tail === undefined && fill !== 0)) return undefined;
  return [...left, ...Array<number>(fill).fill(0), ...right];
}
