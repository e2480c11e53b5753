/**
 * SSRF guard for targets (SPEC §6). A target URL is checked when it is saved (cheap, gives the
 * user a 400 right away) and again at connect time against the addresses the socket will actually
 * use: the lookup that decides where to connect is the one that is checked, so a name that
 * resolves to a public address when saved and to 127.0.0.1 later (DNS rebinding) is still refused.
 * Redirects are the dispatcher's concern: it does not follow them.
 */
import dns from 'node:dns';
import { isIP, type LookupFunction, type TcpNetConnectOpts } from 'node:net';
import { buildConnector } from 'undici';
import { fieldError, HooklineError } from '../errors.ts';

export const ADDRESS_REFUSED = 'HOOKLINE_ADDRESS_REFUSED';

/** Raised at connect time; `code` lets the dispatcher treat it as permanent rather than retry. */
export class AddressRefusedError extends Error {
  readonly code = ADDRESS_REFUSED;
  readonly hostname: string;
  readonly address: string;
  constructor(hostname: string, address: string) {
    super(hostname === address
      ? `connection to ${address} refused: private, loopback, link-local or reserved addresses are not allowed as targets`
      // Not which address: a tenant reads this in the delivery log, and would learn how the
      // operator's internal names resolve (db.internal → 10.x). `address` stays on the error.
      : `connection to ${hostname} refused: it resolves to a private, loopback, link-local or reserved address`);
    this.name = 'AddressRefusedError';
    this.hostname = hostname;
    this.address = address;
  }
}

// ---------------------------------------------------------------------------------------------
// Address classification

/** [network, prefix length] of every IPv4 block a target may not reach. */
const FORBIDDEN_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT, often a provider's internal network
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, home of cloud metadata endpoints
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1, documentation: never a real receiver
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, includes 255.255.255.255
];

function v4ToInt(ip: string): number {
  const o = ip.split('.').map(Number);
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}

const FORBIDDEN_V4_MASKS = FORBIDDEN_V4.map(([net, bits]) => {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { net: (v4ToInt(net) & mask) >>> 0, mask };
});

function forbiddenV4Int(n: number): boolean {
  return FORBIDDEN_V4_MASKS.some(({ net, mask }) => ((n & mask) >>> 0) === net);
}

/** The eight 16-bit words of a valid IPv6 address (including a trailing dotted IPv4 part). */
function v6Words(ip: string): number[] {
  let s = ip;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const n = v4ToInt(tail);
    s = `${s.slice(0, lastColon + 1)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const gap = s.indexOf('::');
  if (gap === -1) return parse(s);
  const head = parse(s.slice(0, gap));
  const rest = parse(s.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

function forbiddenV6(ip: string): boolean {
  const w = v6Words(ip);
  const embedded = (hi: number, lo: number): boolean => forbiddenV4Int(((hi << 16) | lo) >>> 0);
  const zeros = (from: number, to: number): boolean => w.slice(from, to).every((x) => x === 0);
  // :: (unspecified) and ::1 (loopback) also fall under "IPv4-compatible" below, but say so plainly
  if (zeros(0, 7) && (w[7] === 0 || w[7] === 1)) return true;
  // Forms that carry an IPv4 address are judged by it, or ::ffff:127.0.0.1 would be a way round
  if (zeros(0, 5) && w[5] === 0xffff) return embedded(w[6]!, w[7]!); // IPv4-mapped
  if (zeros(0, 6)) return embedded(w[6]!, w[7]!); // deprecated IPv4-compatible ::a.b.c.d
  if (zeros(0, 4) && w[4] === 0xffff && w[5] === 0) return embedded(w[6]!, w[7]!); // SIIT ::ffff:0:a.b.c.d
  if (w[0] === 0x64 && w[1] === 0xff9b && zeros(2, 6)) return embedded(w[6]!, w[7]!); // NAT64 64:ff9b::/96
  if (w[0] === 0x2002) return embedded(w[1]!, w[2]!); // 6to4 2002:AABB:CCDD::/48
  // Teredo 2001:0::/32: the client's IPv4 address is in the last 32 bits, inverted
  if (w[0] === 0x2001 && w[1] === 0) return embedded(w[6]! ^ 0xffff, w[7]! ^ 0xffff);
  if (w[0] === 0x2001 && w[1] === 0xdb8) return true; // 2001:db8::/32 documentation
  const first = w[0]!;
  if ((first & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  if ((first & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((first & 0xffc0) === 0xfec0) return true; // fec0::/10 deprecated site-local, still private
  if ((first & 0xff00) === 0xff00) return true; // ff00::/8 multicast
  return false;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * Whether a target may not connect to `ip`. Anything that is not an IP address counts as
 * forbidden: callers pass resolved addresses, and one that cannot be judged is not one to use.
 */
export function isForbiddenAddress(ip: string): boolean {
  let s = unbracket(ip.trim());
  const zone = s.indexOf('%'); // fe80::1%eth0: the zone names an interface, not part of the address
  if (zone !== -1) s = s.slice(0, zone);
  switch (isIP(s)) {
    case 4:
      return forbiddenV4Int(v4ToInt(s));
    case 6:
      return forbiddenV6(s.toLowerCase());
    default:
      return true;
  }
}

// ---------------------------------------------------------------------------------------------
// When a target is saved

/**
 * Validates a target URL as it is saved and answers it parsed. Only literal addresses and
 * `localhost` names can be judged here without DNS; names are judged again at connect time.
 * WHATWG URL parsing has already turned http://2130706433/ and http://0x7f.1/ into 127.0.0.1,
 * so the numeric spellings of an IPv4 address cannot slip past.
 */
export function checkTargetUrl(url: string, allowPrivate: boolean, field = 'url'): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw fieldError('invalid_field', field, `${field} is not a valid absolute URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw fieldError('invalid_field', field, `${field} must use http or https, not ${u.protocol.slice(0, -1)}`);
  }
  // Credentials in a URL end up in logs and delivery records; headers are the place for them.
  if (u.username !== '' || u.password !== '') {
    throw fieldError('invalid_field', field, `${field} must not contain a user name or password; send credentials in headers`);
  }
  if (allowPrivate) return u;
  // Said in the answer: a tenant testing against a local receiver needs its operator's setting.
  const how = 'the server allows them with HOOKLINE_ALLOW_PRIVATE_TARGETS=true';
  const host = unbracket(u.hostname).replace(/\.+$/, ''); // "localhost." is localhost too
  if (host === 'localhost' || host.endsWith('.localhost')) {
    throw new HooklineError('target_not_allowed', `${field} points at ${host}, a loopback name; private targets are not allowed (${how})`, { field });
  }
  if (isIP(host) !== 0 && isForbiddenAddress(host)) {
    throw new HooklineError('target_not_allowed', `${field} points at ${host}, a private, loopback, link-local or reserved address; such targets are not allowed (${how})`, { field });
  }
  return u;
}

// ---------------------------------------------------------------------------------------------
// At connect time

/**
 * Resolves like the default lookup, but refuses when any address of the name is forbidden
 * (not just the one that would be tried first), so a name cannot mix a public and a private
 * address and hope for the second. net.connect connects to exactly what this answers.
 */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) {
      callback(err, '');
      return;
    }
    const bad = addresses.find((a) => isForbiddenAddress(a.address));
    if (bad !== undefined) {
      callback(new AddressRefusedError(hostname, bad.address), '');
      return;
    }
    const first = addresses[0];
    if (options.all) callback(null, addresses);
    else if (first === undefined) callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
    else callback(null, first.address, first.family);
  });
};

export interface GuardOptions {
  /** TCP (and TLS) connect timeout; SPEC §6 default is 5 s. */
  connectTimeoutMs?: number;
  /** more options for plain (http:) sockets only, e.g. `onread` (TLS sockets read as streams) */
  plain?: Pick<TcpNetConnectOpts, 'onread'>;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/**
 * An undici `connect` option (for `new Pool(origin, { connect })`) that refuses forbidden addresses
 * unless `allowPrivate`. Literal IP hosts never reach a lookup function in net.connect, so the
 * wrapper judges them before connecting; names are judged by the lookup.
 */
export function guardedConnect(allowPrivate: boolean, opts: GuardOptions = {}): buildConnector.connector {
  const timeout = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const base = allowPrivate ? { timeout } : { timeout, lookup: guardedLookup };
  const tls = buildConnector(base);
  const plain = opts.plain === undefined ? tls : buildConnector({ ...base, ...opts.plain });
  const connect: buildConnector.connector = (options, callback) => (options.protocol === 'https:' ? tls : plain)(options, callback);
  if (allowPrivate) return connect;
  return (options, callback) => {
    const host = unbracket(options.hostname);
    if (isIP(host) !== 0 && isForbiddenAddress(host)) {
      callback(new AddressRefusedError(host, host), null);
      return;
    }
    connect(options, callback);
  };
}

/** Whether `err` (or an error in its `cause` chain, where undici's fetch puts it) is a refusal. */
export function isAddressRefused(err: unknown): boolean {
  let e: unknown = err;
  // bounded: a cause chain could in principle be cyclic
  for (let depth = 0; depth < 8 && typeof e === 'object' && e !== null; depth++) {
    if ((e as { code?: unknown }).code === ADDRESS_REFUSED) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
