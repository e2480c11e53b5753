/**
 * A process trusts a key it found for KEY_CACHE_MS only: when another process sharing the
 * database (PostgreSQL, several processes) starts with HOOKLINE_API_KEY and replaces the
 * bootstrap key, this one stops taking the old key within that time, not at its own restart.
 * The other process is played here by the store call its start makes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { hashKey, KEY_CACHE_MS } from '../src/api/auth.ts';
import { FakeClock } from '../src/clock.ts';
import { testConfig } from '../src/config.ts';
import { createHookline } from '../src/hookline.ts';
import { startHookline } from './helpers.ts';

test('a replaced bootstrap key stops working within KEY_CACHE_MS on a process that had it cached', async () => {
  const clock = new FakeClock(Date.now());
  const s = await startHookline({}, { clock });
  try {
    assert.equal((await s.api('GET', '/v1/calls')).status, 200, 'the old key, now cached');
    const account = await s.h.store.getBootstrapAccount();
    await s.h.store.setBootstrapKey(account!, hashKey('hk_replacing_key'), clock.now());
    assert.equal((await s.api('GET', '/v1/calls', undefined, { key: 'hk_replacing_key' })).status, 200, 'the new key at once');
    clock.advance(KEY_CACHE_MS + 1);
    assert.equal((await s.api('GET', '/v1/calls')).status, 401, 'the old key, once its cache entry is stale');
    assert.equal((await s.api('GET', '/v1/calls', undefined, { key: 'hk_replacing_key' })).status, 200);
  } finally {
    await s.stop();
  }
});

test('a worker makes no bootstrap key (it serves no API); the first API process makes it and prints it', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hookline-key-'));
  try {
    const worker = await createHookline(testConfig({ role: 'worker', apiKey: undefined, dataDir: dir }));
    assert.equal(worker.generatedApiKey, undefined);
    assert.equal(await worker.store.getBootstrapAccount(), undefined);
    await worker.stop();
    const api = await createHookline(testConfig({ role: 'all', apiKey: undefined, dataDir: dir }));
    assert.match(api.generatedApiKey ?? '', /^hk_/);
    await api.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
