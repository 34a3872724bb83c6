import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * The address ranges a web fetch must never reach unless the host is allowed by name
 * (HTTP_ALLOWED_HOSTS): the machine itself, the networks behind it, and cloud metadata services
 * (169.254.169.254, fd00:ec2::254). Each range is named, so an error row says why a URL was
 * refused. Ranges from the IANA special-purpose registries (RFC 6890 and its updates).
 *
 * IPv4 written inside IPv6 (`::ffff:127.0.0.1`, NAT64 `64:ff9b::7f00:1`, 6to4 `2002:7f00:1::`)
 * is judged by the IPv4 address it carries: those forms reach the same host.
 */
export type BlockedRange =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'carrier-grade NAT'
  | 'link-local'
  | 'unique-local'
  | 'multicast'
  | 'reserved'
  | 'benchmarking'
  | 'documentation';

const RANGES: ReadonlyArray<[BlockedRange, 'ipv4' | 'ipv6', string, number]> = [
  ['unspecified', 'ipv4', '0.0.0.0', 8],
  ['private', 'ipv4', '10.0.0.0', 8],
  ['carrier-grade NAT', 'ipv4', '100.64.0.0', 10],
  ['loopback', 'ipv4', '127.0.0.0', 8],
  ['link-local', 'ipv4', '169.254.0.0', 16],
  ['private', 'ipv4', '172.16.0.0', 12],
  ['reserved', 'ipv4', '192.0.0.0', 24],
  ['documentation', 'ipv4', '192.0.2.0', 24],
  ['private', 'ipv4', '192.168.0.0', 16],
  ['benchmarking', 'ipv4', '198.18.0.0', 15],
  ['documentation', 'ipv4', '198.51.100.0', 24],
  ['documentation', 'ipv4', '203.0.113.0', 24],
  ['multicast', 'ipv4', '224.0.0.0', 4],
  ['reserved', 'ipv4', '240.0.0.0', 4],
  ['unspecified', 'ipv6', '::', 128],
  ['loopback', 'ipv6', '::1', 128],
  ['reserved', 'ipv6', '100::', 64],
  ['documentation', 'ipv6', '2001:db8::', 32],
  ['unique-local', 'ipv6', 'fc00::', 7],
  ['link-local', 'ipv6', 'fe80::', 10],
  ['reserved', 'ipv6', 'fec0::', 10],
  ['multicast', 'ipv6', 'ff00::', 8],
];

const LISTS = new Map<BlockedRange, BlockList>();
for (const [name, family, network, prefix] of RANGES) {
  let list = LISTS.get(name);
  if (list === undefined) {
    list = new BlockList();
    LISTS.set(name, list);
  }
  list.addSubnet(network, prefix, family);
}

/** The named range `address` (an IPv4 or IPv6 literal, no brackets) lies in, or null for a public address. */
export function blockedRangeOf(address: string): BlockedRange | null {
  const embedded = embeddedIPv4(address);
  if (embedded !== null) return blockedRangeOf(embedded);
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
  // Not an IP literal at all: never connect to it as if it were one.
  if (family === null) return 'reserved';
  for (const [name, list] of LISTS) if (list.check(address, family)) return name;
  return null;
}

/** The IPv4 address an IPv6 form carries (mapped, NAT64 well-known prefix, 6to4), or null. */
function embeddedIPv4(address: string): string | null {
  if (!isIPv6(address)) return null;
  const words = expandIPv6(address);
  const v4 = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  const zeros = (from: number, to: number) => words.slice(from, to).every((word) => word === 0);
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (the deprecated compatible form)
  if (zeros(0, 5) && (words[5] === 0xffff || words[5] === 0) && !(words[5] === 0 && words[6] === 0)) {
    return v4(words[6]!, words[7]!);
  }
  if (words[0] === 0x64 && words[1] === 0xff9b && zeros(2, 6)) return v4(words[6]!, words[7]!);
  if (words[0] === 0x2002) return v4(words[1]!, words[2]!);
  return null;
}

/** The eight 16-bit words of an IPv6 literal (with '::' and a dotted IPv4 tail expanded). */
function expandIPv6(address: string): number[] {
  let text = address.toLowerCase().split('%')[0] ?? '';
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((word) => Number.parseInt(word, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}
