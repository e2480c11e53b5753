#!/usr/bin/env node
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, OPTIONS } from '../config.ts';
import { createHookline } from '../hookline.ts';

const USAGE = `hookline: phone calls in, webhooks out

usage: hookline serve [--host H] [--port P] [--data-dir DIR] [--database-url URL] [--api-key KEY]
                      [--allow-private-targets [true|false]] [--retry-schedule S1,S2,…] [--role all|api|worker] [--lease-ms MS]
                      [--retention-days D] [--dead-retention-days D] [--threads 1|2] [--log-level L]
                      [--sip-trunk URI] [--sip-listen HOST:PORT] [--sip-user U] [--sip-password P] [--sip-from-domain D]

Every flag has an environment variable: HOST, PORT, HOOKLINE_DATA_DIR, DATABASE_URL, HOOKLINE_API_KEY,
HOOKLINE_ALLOW_PRIVATE_TARGETS, HOOKLINE_RETRY_SCHEDULE, HOOKLINE_ROLE, HOOKLINE_LEASE_MS, HOOKLINE_RETENTION_DAYS,
HOOKLINE_DEAD_RETENTION_DAYS, HOOKLINE_THREADS, HOOKLINE_SIP_TRUNK, HOOKLINE_SIP_LISTEN, HOOKLINE_SIP_USER,
HOOKLINE_SIP_PASSWORD, HOOKLINE_SIP_FROM_DOMAIN, LOG_LEVEL. Flags win.

hookline --version   the version`;

const HELP = new Set(['help', '--help', '-h']);

/** `serve … --help`: the flag where an option stands, not an option's value (`--data-dir help`); parsed as loadConfig parses. */
function asksHelp(args: string[]): boolean {
  const { values } = parseArgs({ args, options: { ...OPTIONS, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: false });
  return values.help === true;
}

// A database that cannot be reached or used at start (no server, no such database, a role or
// password refused): said in one line naming the setting, as a bad setting is.
// pg's connection failures without a code: a server that hangs up, or has no SSL for sslmode=require
const PG_CONNECT_FAILURE = /^Connection terminated|does not support SSL/;
// TLS failures (a certificate refused, a handshake that fails) carry Node's codes
const TLS_FAILURE = /^(ERR_TLS_|ERR_SSL_|EPROTO$)|CERT/;
const DATABASE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', '3D000', '28000', '28P01', '42501']);

// Why a listen address cannot be used, in words (the error's code alone is a riddle).
const LISTEN_CODES: Record<string, string> = {
  EADDRINUSE: 'in use (another Hookline?)',
  EADDRNOTAVAIL: 'not an address of this machine',
  EACCES: 'not allowed (a port under 1024 needs privileges)',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved now',
};

/**
 * Whether SIP's address can be bound, UDP and TCP (the SIP stack binds both, and a bind error
 * inside it is an uncaught 'error' event, a stack trace instead of a sentence): the code of the
 * first failure, or null.
 */
async function bindProblem(host: string, port: number): Promise<string | null> {
  const udp = await new Promise<string | null>((resolve) => {
    const s = createSocket('udp4');
    s.once('error', (err: NodeJS.ErrnoException) => { s.close(); resolve(err.code ?? 'EINVAL'); });
    s.bind(port, host, () => s.close(() => resolve(null)));
  });
  if (udp !== null) return udp;
  return new Promise<string | null>((resolve) => {
    const s = createServer();
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'EINVAL'));
    s.listen(port, host, () => s.close(() => resolve(null)));
  });
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function serve(argv: string[]): Promise<void> {
  const config = loadConfig(argv, process.env);
  if (config.sip) {
    const { host, port } = config.sip.listen;
    const code = await bindProblem(host, port);
    if (code !== null) throw new ConfigError(`HOOKLINE_SIP_LISTEN (--sip-listen): cannot bind ${host}:${port} for SIP: ${LISTEN_CODES[code] ?? code} (${code})`);
  }
  let h: Awaited<ReturnType<typeof createHookline>>;
  try {
    h = await createHookline(config);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'HOOKLINE_DATA_DIR_IN_USE') throw new ConfigError((err as Error).message);
    if (!config.databaseUrl && (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EROFS')) {
      const what = code === 'EEXIST' || code === 'ENOTDIR' ? 'is not a directory' : 'cannot be written';
      throw new ConfigError(`HOOKLINE_DATA_DIR (--data-dir): ${config.dataDir} ${what} (${(err as Error).message})`);
    }
    if (config.databaseUrl && typeof code === 'string' && DATABASE_CODES.has(code)) {
      const hint = code === '3D000' ? '; create it first (Hookline makes its tables, not the database)' : '';
      // connecting to a name with IPv4 and IPv6 addresses fails with an AggregateError, message ''
      const errors = (err as { errors?: Error[] }).errors;
      const message = (err as Error).message || (errors ?? []).map((e) => e.message).join('; ');
      throw new ConfigError(`DATABASE_URL (--database-url): ${message} (${code})${hint}`);
    }
    // pg's own connection failures carry no code: a port that is not PostgreSQL, SSL asked of a
    // server without it (sslmode=require), a certificate refused.
    if (config.databaseUrl && err instanceof Error && (code === undefined ? PG_CONNECT_FAILURE.test(err.message) : typeof code === 'string' && TLS_FAILURE.test(code))) {
      throw new ConfigError(`DATABASE_URL (--database-url): cannot connect: ${err.message}`);
    }
    throw err;
  }
  if (h.generatedApiKey) {
    // Printed once: only its hash is stored. Set HOOKLINE_API_KEY to choose the key yourself.
    process.stdout.write(`\nHookline generated the bootstrap API key (shown once, keep it):\n\n  ${h.generatedApiKey}\n\n`);
  }
  try {
    await h.start();
  } catch (err) {
    await h.stop().catch(() => undefined);
    // The key is stored already and is never printed again: a start that fails after making it
    // says so, or the next start (which prints none) leaves its user without a key.
    const keyKept = h.generatedApiKey ? 'the bootstrap API key printed above is stored: keep it, the next start will not print one' : null;
    // The commonest failure at start, said in one line rather than a stack.
    const code = (err as { code?: string }).code;
    if (code === 'EADDRINUSE') {
      throw new ConfigError(`${config.host}:${config.port} is in use (another Hookline?); choose another port with --port or PORT${keyKept ? ` (${keyKept})` : ''}`);
    }
    if (code !== undefined && code in LISTEN_CODES) {
      throw new ConfigError(`HOST/PORT (--host, --port): cannot listen on ${config.host}:${config.port}: ${LISTEN_CODES[code]} (${code})${keyKept ? ` (${keyKept})` : ''}`);
    }
    if (keyKept) h.log.error(keyKept);
    throw err;
  }
  h.log.info({ url: h.url, backend: h.store.backend, role: config.role }, 'hookline listening');
  if (config.allowPrivateTargets) h.log.warn('private targets allowed: deliveries may go to loopback and private addresses (HOOKLINE_ALLOW_PRIVATE_TARGETS)');
  if (config.role === 'api' && h.store.backend === 'sqlite') {
    // Legitimate (the bench builds a backlog so), but a surprise for whoever meant PostgreSQL.
    h.log.warn('--role api on SQLite: calls are accepted and stored, but nothing plays them or delivers until a --role all process opens this database (several processes need PostgreSQL: DATABASE_URL)');
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    h.log.info({ signal }, 'shutting down');
    h.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        h.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'serve' && asksHelp(rest)) console.log(USAGE);
  else if (command === 'serve') await serve(rest);
  else if (command === undefined || HELP.has(command)) console.log(USAGE);
  else if (command === '--version' || command === 'version') console.log(version());
  else {
    console.error(`hookline: unknown command "${command}"\n\n${USAGE}`);
    process.exit(2);
  }
} catch (err) {
  if (err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`hookline: ${(err as Error).message}`);
    process.exit(2);
  }
  throw err;
}
