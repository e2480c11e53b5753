/**
 * Issue 6: the lease length is configurable (`--lease-ms` / HOOKLINE_LEASE_MS), so that tests and
 * operators can have a crashed process's claims taken over sooner than the 30 s default.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

test('--lease-ms and HOOKLINE_LEASE_MS set the lease; the flag wins; default 30 s', () => {
  assert.equal(loadConfig([], {}).leaseMs, 30_000);
  assert.equal(loadConfig([], { HOOKLINE_LEASE_MS: '' }).leaseMs, 30_000);
  assert.equal(loadConfig(['--lease-ms', '2000'], {}).leaseMs, 2000);
  assert.equal(loadConfig([], { HOOKLINE_LEASE_MS: '1000' }).leaseMs, 1000);
  assert.equal(loadConfig(['--lease-ms', '5000'], { HOOKLINE_LEASE_MS: '1000' }).leaseMs, 5000);
});

test('a lease that is not a whole number of at least 1000 ms is refused', () => {
  for (const bad of ['999', '0', '-2000', '1500.5', '2e3', 'abc', '1000ms']) {
    assert.throws(() => loadConfig([`--lease-ms=${bad}`], {}), (err: unknown) => err instanceof ConfigError && /^--lease-ms: /.test(err.message), bad);
    assert.throws(() => loadConfig([], { HOOKLINE_LEASE_MS: bad }), (err: unknown) => err instanceof ConfigError && /^HOOKLINE_LEASE_MS: /.test(err.message), bad);
  }
});

test('the CLI exits 2 on a bad --lease-ms, naming it', () => {
  const r = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'node'), ['src/cli/main.ts', 'serve', '--lease-ms', '10'], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--lease-ms: "10"/);
});
