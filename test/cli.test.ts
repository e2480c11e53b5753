/**
 * The CLI as a new user meets it: help where it is asked for, the version, a setting's error
 * naming what the user typed (the flag or the variable), and a taken port said in one line.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const NODE = path.join(ROOT, 'node_modules', '.bin', 'node');
// The Hookline variables of this environment would change what the CLI reads.
const ENV = { ...process.env, PORT: '', DATABASE_URL: '', HOOKLINE_API_KEY: '', HOOKLINE_DATA_DIR: '', HOOKLINE_ROLE: '' };

const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(NODE, ['src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { ...ENV, ...env } });

test('help: `hookline --help` and `hookline serve --help` print the usage and exit 0; `--version` the version', () => {
  for (const args of [['--help'], ['serve', '--help'], ['serve', '-h'], []]) {
    const r = cli(args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /usage: hookline serve/, args.join(' '));
  }
  const v = cli(['--version']);
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout.trim(), (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
});

test('a bad setting is named as the user gave it: the flag, or the variable', () => {
  const flag = cli(['serve', '--port', 'abc']);
  assert.equal(flag.status, 2);
  assert.equal(flag.stderr.trim(), 'hookline: --port: "abc" is not a port number');
  const variable = cli(['serve'], { PORT: '80x' });
  assert.equal(variable.status, 2);
  assert.equal(variable.stderr.trim(), 'hookline: PORT: "80x" is not a port number');
  const role = cli(['serve', '--role', 'boss']);
  assert.equal(role.status, 2);
  assert.match(role.stderr, /^hookline: --role: expected one of all, api, worker, got "boss"$/m);
});

/** A port another server holds and a data directory of its own, for `run`; both go after. */
async function onTakenPort(run: (port: number, dir: string) => void): Promise<void> {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const dir = mkdtempSync(path.join(tmpdir(), 'hookline-cli-'));
  try {
    run((taken.address() as AddressInfo).port, dir);
  } finally {
    taken.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a port in use: one line saying so, exit 2, no stack', () => onTakenPort((port, dir) => {
  const r = cli(['serve', '--port', String(port), '--data-dir', dir, '--log-level', 'silent'], { HOOKLINE_API_KEY: 'hk_cli_test_key' });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim(), `hookline: 127.0.0.1:${port} is in use (another Hookline?); choose another port with --port or PORT`);
}));

test('a port in use on the first start: the generated key printed is said to be kept', () => onTakenPort((port, dir) => {
  const r = cli(['serve', '--port', String(port), '--data-dir', dir, '--log-level', 'silent']);
  assert.equal(r.status, 2, r.stderr);
  assert.ok(/\n {2}hk_\S+\n/.test(r.stdout), r.stdout);
  assert.equal(r.stderr.trim(), `hookline: 127.0.0.1:${port} is in use (another Hookline?); choose another port with --port or PORT`
    + ' (the bootstrap API key printed above is stored: keep it, the next start will not print one)');
}));

test('a database that cannot be reached: one line naming DATABASE_URL, exit 2', () => {
  const r = cli(['serve', '--port', '0', '--database-url', 'postgres://postgres@127.0.0.1:1/hookline']);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim(), 'hookline: DATABASE_URL (--database-url): connect ECONNREFUSED 127.0.0.1:1 (ECONNREFUSED)');
});

test('a database URL whose port is not PostgreSQL (it hangs up): one line naming DATABASE_URL, exit 2', { timeout: 30_000 }, async () => {
  // reads the startup message, then hangs up (a FIN: destroying it unread would send a reset)
  const server = createServer((socket) => socket.once('data', () => socket.end()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const child = spawn(NODE, ['src/cli/main.ts', 'serve', '--port', '0', '--database-url', `postgres://postgres@127.0.0.1:${port}/hookline`], { cwd: ROOT, env: ENV, timeout: 25_000 });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const [status] = await once(child, 'exit');
    assert.equal(status, 2, stderr);
    // a FIN is "Connection terminated"; a reset (a busy machine may turn one into the other) is ECONNRESET
    assert.match(stderr.trim(), /^hookline: DATABASE_URL \(--database-url\): (cannot connect: Connection terminated unexpectedly|read ECONNRESET \(ECONNRESET\))$/);
  } finally {
    server.close();
  }
});

test('serve: an option whose value is "help" is a value, not a request for help', () => {
  const r = cli(['serve', '--data-dir', 'help', '--port', 'x']);
  assert.equal(r.status, 2, r.stdout);
  assert.equal(r.stderr.trim(), 'hookline: --port: "x" is not a port number');
});

test('serve takes flags only; a boolean flag takes true or false as its variable does (`--allow-private-targets false` is false)', () => {
  const guard = (argv: string[], env: Record<string, string> = {}) => loadConfig(argv, env).allowPrivateTargets;
  assert.equal(guard([]), false);
  assert.equal(guard(['--allow-private-targets']), true);
  for (const [word, v] of [['false', false], ['true', true], ['0', false], ['no', false], ['YES', true]] as const) {
    assert.equal(guard(['--allow-private-targets', word, '--port', '1']), v, word);
    assert.equal(guard([`--allow-private-targets=${word}`]), v, `=${word}`);
  }
  assert.equal(guard(['--allow-private-targets', 'false'], { HOOKLINE_ALLOW_PRIVATE_TARGETS: 'true' }), false, 'the flag wins');
  assert.equal(guard(['--allow-private-targets', 'false', '--allow-private-targets']), true, 'the last one wins');
  assert.equal(guard(['--allow-private-targets', '--allow-private-targets=no']), false, 'the last one wins');
  assert.throws(() => loadConfig(['--', '--allow-private-targets', 'true'], {}), (e: unknown) => e instanceof ConfigError && /unexpected argument "--allow-private-targets"/.test(e.message), 'after --, words');
  assert.throws(() => loadConfig(['--allow-private-targets=maybe'], {}), (e: unknown) => e instanceof ConfigError && e.message === '--allow-private-targets: expected true or false, got "maybe"');
  const typo = cli(['serve', '--allow-private-targets', 'flase']);
  assert.equal(typo.status, 2, typo.stderr);
  assert.equal(typo.stderr.trim(), 'hookline: unexpected argument "flase": serve takes flags only (--help lists them)');
});

test('start-up mistakes are one line naming the setting, exit 2, no stack', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hookline-cli-'));
  try {
    for (const url of ['not a url', 'mysql://root@127.0.0.1/db']) {
      assert.throws(() => loadConfig(['--database-url', url], {}), (e: unknown) => e instanceof ConfigError && e.message.startsWith('--database-url: expected a PostgreSQL URL'), url);
    }
    assert.throws(() => loadConfig([], { DATABASE_URL: 'localhost:5432' }), (e: unknown) => e instanceof ConfigError && e.message.startsWith('DATABASE_URL: expected'));
    for (const ok of ['postgresql://u@h/db', 'postgres://user@/db?host=/var/run/postgresql', 'socket://u:pw@/var/run/postgresql?db=x', '/var/run/postgresql mydb']) {
      assert.equal(loadConfig([], { DATABASE_URL: ok }).databaseUrl, ok, ok);
    }
    assert.throws(() => loadConfig(['--api-key', 'k'], {}), (e: unknown) => e instanceof ConfigError && e.message.startsWith('--api-key: at least 12 characters'));
    assert.equal(loadConfig([], { HOOKLINE_API_KEY: 'hk_twelve_ch' }).apiKey, 'hk_twelve_ch');
    const level = cli(['serve'], { LOG_LEVEL: 'verbose' });
    assert.equal(level.status, 2, level.stderr);
    assert.equal(level.stderr.trim(), 'hookline: LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"');
    writeFileSync(path.join(dir, 'file'), '');
    const file = cli(['serve', '--port', '0', '--data-dir', path.join(dir, 'file'), '--log-level', 'silent'], { HOOKLINE_API_KEY: 'hk_cli_test_key' });
    assert.equal(file.status, 2, file.stderr);
    assert.match(file.stderr.trim(), /^hookline: HOOKLINE_DATA_DIR \(--data-dir\): \S+ is not a directory \(EEXIST[^\n]*\)$/);
    const host = cli(['serve', '--port', '0', '--host', 'nosuchhost.invalid', '--data-dir', path.join(dir, 'h'), '--log-level', 'silent'], { HOOKLINE_API_KEY: 'hk_cli_test_key' });
    assert.equal(host.status, 2, host.stderr);
    assert.match(host.stderr.trim(), /^hookline: HOST\/PORT \(--host, --port\): cannot listen on nosuchhost\.invalid:0: (no such host \(ENOTFOUND\)|the host name could not be resolved now \(EAI_AGAIN\))$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await onTakenPort((port, d) => {
    const sip = cli(['serve', '--port', '0', '--data-dir', d, '--log-level', 'silent', '--sip-trunk', 'sip:127.0.0.1:5999', '--sip-listen', `127.0.0.1:${port}`], { HOOKLINE_API_KEY: 'hk_cli_test_key' });
    assert.equal(sip.status, 2, sip.stderr);
    assert.equal(sip.stderr.trim(), `hookline: HOOKLINE_SIP_LISTEN (--sip-listen): cannot bind 127.0.0.1:${port} for SIP: in use (another Hookline?) (EADDRINUSE)`);
  });
});
