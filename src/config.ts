import { parseArgs } from 'node:util';
import path from 'node:path';

/** The resolved, frozen settings Hookline runs with. Parsed once at the entry point. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly apiKey: string | undefined;
  readonly allowPrivateTargets: boolean;
  /** Delays (ms) before each retry; the first attempt is immediate. */
  readonly retryScheduleMs: readonly number[];
  readonly role: Role;
  readonly logLevel: string;
  /** How long a claimed delivery or timer stays ours without renewal (ms). */
  readonly leaseMs: number;
  /** A target that has not succeeded once in this long is disabled (ms). */
  readonly failureWindowMs: number;
  /** An ingested call with no event for this long is ended by Hookline (ms). */
  readonly ingestIdleMs: number;
  /** Succeeded deliveries, their attempts and ended calls older than this are deleted (ms). */
  readonly retentionMs: number;
  /** Dead deliveries are kept this long after they died, for a retry from the log (ms). */
  readonly deadRetentionMs: number;
  /** SQLite, --role all: 2 runs the dispatcher on a thread of its own (split.ts). */
  readonly threads: number;
  /** SIP (calls/drivers/sip/): set when HOOKLINE_SIP_TRUNK is; calls without `simulate` go there */
  readonly sip: SipConfig | undefined;
}

export interface SipConfig {
  readonly trunk: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly fromDomain: string | undefined;
}

export const ROLES = ['all', 'api', 'worker'] as const;
export type Role = (typeof ROLES)[number];

/** SPEC §6: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h. */
export const DEFAULT_RETRY_SCHEDULE_S = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400] as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** `hookline serve`'s flags (parseArgs), for loadConfig and the CLI's help check. */
export const OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'data-dir': { type: 'string' },
  'database-url': { type: 'string' },
  'api-key': { type: 'string' },
  'allow-private-targets': { type: 'boolean' },
  'retry-schedule': { type: 'string' },
  role: { type: 'string' },
  'log-level': { type: 'string' },
  'lease-ms': { type: 'string' },
  'retention-days': { type: 'string' },
  'dead-retention-days': { type: 'string' },
  threads: { type: 'string' },
  'sip-trunk': { type: 'string' },
  'sip-listen': { type: 'string' },
  'sip-user': { type: 'string' },
  'sip-password': { type: 'string' },
  'sip-from-domain': { type: 'string' },
} as const;

// Each parser names the setting in its errors: the variable, or the flag when a flag gave the text.
export function parseRetrySchedule(text: string, name = 'HOOKLINE_RETRY_SCHEDULE'): number[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new ConfigError(`${name}: give at least one delay in seconds`);
  return parts.map((p) => {
    const n = Number(p);
    if (!Number.isFinite(n) || n < 0) throw new ConfigError(`${name}: "${p}" is not a number of seconds`);
    return Math.round(n * 1000);
  });
}

/** A lease shorter than 1 s would expire under a slow attempt's own feet. */
export function parseLeaseMs(text: string, name = 'HOOKLINE_LEASE_MS'): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < 1000) {
    throw new ConfigError(`${name}: "${text}" is not a whole number of milliseconds of at least 1000`);
  }
  return n;
}

const DAY_MS = 86_400_000;

/** Days, fractions allowed (0.5 = 12 h), more than 0. */
export function parseDays(name: string, text: string): number {
  const n = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !(n > 0)) throw new ConfigError(`${name}: "${text}" is not a number of days above 0`);
  return Math.round(n * DAY_MS);
}

/**
 * Split mode (split.ts) unless told otherwise: in one run of `npm run bench -- --threads 2`
 * against the default, batched switch events went from 5,663 to 9,254 deliveries/s (1.45× the
 * BullMQ peer) and the fixed-rate p99 from 46 to 35 ms (README, Benchmark).
 */
export const DEFAULT_THREADS = 2;

export function parseThreads(text: string, name = 'HOOKLINE_THREADS'): number {
  if (text !== '1' && text !== '2') throw new ConfigError(`${name}: expected 1 or 2, got "${text}"`);
  return Number(text);
}

/** `sip:host:port` with an IP address (Hookline resolves no names for SIP), `;transport=udp|tcp` optional. */
export function parseSipTrunk(text: string, name = 'HOOKLINE_SIP_TRUNK'): string {
  const m = /^sips?:(?:[^@]+@)?(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?((?:;[^;]*)*)$/i.exec(text.trim());
  if (!m) throw new ConfigError(`${name}: "${text}" is not a SIP URI with an IPv4 address, e.g. sip:10.0.0.5:5060;transport=tcp`);
  const transport = /;transport=([a-z]+)/i.exec(m[3] ?? '')?.[1]?.toLowerCase();
  if (transport !== undefined && transport !== 'udp' && transport !== 'tcp') throw new ConfigError(`${name}: transport "${transport}" is not udp or tcp`);
  return text.trim();
}

export function parseHostPort(name: string, text: string): { host: string; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[2]);
  if (!m || !(port > 0 && port < 65536)) throw new ConfigError(`${name}: "${text}" is not an IPv4 address and port, e.g. 127.0.0.1:5060`);
  return { host: m[1]!, port };
}

/**
 * A PostgreSQL connection string as `pg` reads it: a postgres:// or postgresql:// URL (a Unix
 * socket as `?host=/dir`), socket://, or a socket directory (`/var/run/postgresql mydb`). Checked
 * by its form only, here: `not a url` failed later as "getaddrinfo ENOTFOUND base", and a
 * mysql:// URL was taken for PostgreSQL's.
 */
function parseDatabaseUrl(text: string | undefined, name: string): string | undefined {
  if (text === undefined) return undefined;
  if (!/^(postgres|postgresql|socket):\/\//i.test(text) && !text.startsWith('/')) {
    throw new ConfigError(`${name}: expected a PostgreSQL URL, postgres://user@host:5432/database (unset: SQLite in the data directory)`);
  }
  return text;
}

/** A chosen bootstrap key: every route opens to it, so not one a guess finds (generated keys are far longer). */
const MIN_API_KEY = 12;

function parseApiKey(text: string | undefined, name: string): string | undefined {
  if (text !== undefined && text.length < MIN_API_KEY) {
    throw new ConfigError(`${name}: at least ${MIN_API_KEY} characters (a short key is easily guessed); leave it unset to have one generated`);
  }
  return text;
}

/** pino's levels, and `silent` */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function parseLogLevel(text: string, name: string): string {
  if (!(LOG_LEVELS as readonly string[]).includes(text)) throw new ConfigError(`${name}: expected one of ${LOG_LEVELS.join(', ')}, got "${text}"`);
  return text;
}

function parseBool(name: string, v: string | undefined): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  throw new ConfigError(`${name}: expected true or false, got "${v}"`);
}

/**
 * A boolean flag may be given a value, `--allow-private-targets false` or `=false` (true, false,
 * 1, 0, yes, no), as its variable is: parseArgs alone reads the first as the flag (true) and a
 * stray word, which turned the address guard off. Answers the other arguments and those values.
 */
function boolValues(argv: readonly string[]): { args: string[]; bools: Record<string, boolean> } {
  const args: string[] = [];
  const bools: Record<string, boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      // what follows is not flags: parseArgs sees it as stray words (refused)
      args.push(...argv.slice(i));
      break;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    const name = m?.[1];
    if (name === undefined || (OPTIONS as Record<string, { type: string }>)[name]?.type !== 'boolean') {
      args.push(a);
      continue;
    }
    const inline = m![2];
    const next = argv[i + 1];
    const text = inline ?? (next !== undefined && /^(true|false|1|0|yes|no)$/i.test(next) ? next : undefined);
    if (text === undefined) {
      // the flag alone: true, and the last occurrence wins whatever its form
      bools[name] = true;
      continue;
    }
    if (inline === undefined) i++;
    const v = parseBool(`--${name}`, text);
    if (v === undefined) throw new ConfigError(`--${name}: expected true or false, got ""`);
    bools[name] = v;
  }
  return { args, bools };
}

/** Flags win over the environment; the environment over the defaults. */
export function loadConfig(argv: readonly string[], env: Record<string, string | undefined>, cwd = process.cwd()): Config {
  const { args, bools } = boolValues(argv);
  const { values: parsed, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  const values: typeof parsed = { ...parsed, ...bools };
  // `serve` takes flags only: a stray word is refused, not dropped (`--allow-private-targets
  // flase` must not leave the flag on and the typo unseen).
  if (positionals.length > 0) throw new ConfigError(`unexpected argument "${positionals[0]}": serve takes flags only (--help lists them)`);
  // A variable set to the empty string counts as unset (`HOOKLINE_ROLE= hookline serve`).
  env = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  // The name an error about a setting shows: the flag if one was given, else the variable.
  const from = (flag: keyof typeof OPTIONS, name: string): string => (values[flag] === undefined ? name : `--${flag}`);
  const portText = values.port ?? env.PORT ?? '8080';
  const port = Number(portText);
  if (!/^\s*\d+\s*$/.test(portText) || !Number.isInteger(port) || port > 65535) {
    throw new ConfigError(`${from('port', 'PORT')}: "${portText}" is not a port number`);
  }
  const role = values.role ?? env.HOOKLINE_ROLE ?? 'all';
  if (!(ROLES as readonly string[]).includes(role)) throw new ConfigError(`${from('role', 'HOOKLINE_ROLE')}: expected one of ${ROLES.join(', ')}, got "${role}"`);
  const schedule = values['retry-schedule'] ?? env.HOOKLINE_RETRY_SCHEDULE;
  const lease = values['lease-ms'] ?? (env.HOOKLINE_LEASE_MS || undefined);
  const config: Config = {
    host: values.host ?? env.HOST ?? '127.0.0.1',
    port,
    dataDir: path.resolve(cwd, values['data-dir'] ?? env.HOOKLINE_DATA_DIR ?? './data'),
    databaseUrl: parseDatabaseUrl(values['database-url'] ?? (env.DATABASE_URL || undefined), from('database-url', 'DATABASE_URL')),
    apiKey: parseApiKey(values['api-key'] ?? (env.HOOKLINE_API_KEY || undefined), from('api-key', 'HOOKLINE_API_KEY')),
    allowPrivateTargets:
      values['allow-private-targets'] ?? parseBool('HOOKLINE_ALLOW_PRIVATE_TARGETS', env.HOOKLINE_ALLOW_PRIVATE_TARGETS) ?? false,
    retryScheduleMs: schedule ? parseRetrySchedule(schedule, from('retry-schedule', 'HOOKLINE_RETRY_SCHEDULE')) : DEFAULT_RETRY_SCHEDULE_S.map((s) => s * 1000),
    role: role as Role,
    logLevel: parseLogLevel(values['log-level'] ?? env.LOG_LEVEL ?? 'info', from('log-level', 'LOG_LEVEL')),
    leaseMs: lease === undefined ? 30_000 : parseLeaseMs(lease, from('lease-ms', 'HOOKLINE_LEASE_MS')),
    failureWindowMs: 5 * 24 * 3600_000,
    ingestIdleMs: 4 * 3600_000,
    retentionMs: parseDays(from('retention-days', 'HOOKLINE_RETENTION_DAYS'), values['retention-days'] ?? env.HOOKLINE_RETENTION_DAYS ?? '30'),
    deadRetentionMs: parseDays(from('dead-retention-days', 'HOOKLINE_DEAD_RETENTION_DAYS'), values['dead-retention-days'] ?? env.HOOKLINE_DEAD_RETENTION_DAYS ?? '90'),
    threads: parseThreads(values.threads ?? env.HOOKLINE_THREADS ?? String(DEFAULT_THREADS), from('threads', 'HOOKLINE_THREADS')),
    sip: sipConfig(values, env, from),
  };
  return Object.freeze(config);
}

function sipConfig(
  values: Record<string, string | boolean | undefined>, env: Record<string, string | undefined>, from: (flag: keyof typeof OPTIONS, name: string) => string,
): SipConfig | undefined {
  const get = (flag: string, name: string): string | undefined => (values[flag] as string | undefined) ?? env[name];
  const trunk = get('sip-trunk', 'HOOKLINE_SIP_TRUNK');
  if (trunk === undefined) return undefined;
  const user = get('sip-user', 'HOOKLINE_SIP_USER');
  const password = get('sip-password', 'HOOKLINE_SIP_PASSWORD');
  if ((user === undefined) !== (password === undefined)) throw new ConfigError('HOOKLINE_SIP_USER and HOOKLINE_SIP_PASSWORD (--sip-user, --sip-password) go together');
  return Object.freeze({
    trunk: parseSipTrunk(trunk, from('sip-trunk', 'HOOKLINE_SIP_TRUNK')),
    listen: parseHostPort(from('sip-listen', 'HOOKLINE_SIP_LISTEN'), get('sip-listen', 'HOOKLINE_SIP_LISTEN') ?? '127.0.0.1:5060'),
    user, password,
    fromDomain: get('sip-from-domain', 'HOOKLINE_SIP_FROM_DOMAIN'),
  });
}

/** Defaults for tests and embedding: override what you need. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return Object.freeze({
    host: '127.0.0.1',
    port: 0,
    dataDir: ':memory:',
    databaseUrl: undefined,
    apiKey: undefined,
    allowPrivateTargets: true,
    retryScheduleMs: [50, 100, 200],
    role: 'all' as Role,
    logLevel: 'silent',
    leaseMs: 30_000,
    failureWindowMs: 5 * 24 * 3600_000,
    ingestIdleMs: 4 * 3600_000,
    retentionMs: 30 * DAY_MS,
    deadRetentionMs: 90 * DAY_MS,
    threads: DEFAULT_THREADS,
    sip: undefined,
    ...overrides,
  });
}
