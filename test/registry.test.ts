/**
 * The target registry's send settings: built once per loaded target and reused (they were
 * garbage per attempt), but never past the moment one of the target's secrets expires — a
 * retired secret stops signing on time even while the same loaded target is reused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../src/clock.ts';
import { RESOURCE_KINDS, type EndpointDoc } from '../src/targets/model.ts';
import { TargetRegistry } from '../src/targets/registry.ts';
import { waitFor } from './helpers.ts';
import { sqliteDir } from './store-harness.ts';

test('send settings are reused for a loaded target until one of its secrets expires', async () => {
  const opened = sqliteDir();
  try {
    const store = opened.store;
    await store.migrate();
    const clock = new FakeClock();
    const t0 = clock.now();
    await store.createAccount({ id: 'acct_reg', name: 'registry', created_at: t0 }, 'hash_reg');
    const doc: EndpointDoc = {
      url: 'http://127.0.0.1:9/hook', description: null, events: [], filters: {}, headers: {}, timeout_ms: 5_000, connect_timeout_ms: 1_000, concurrency: 8,
      secrets: [
        { secret: 'whsec_bmV3bmV3bmV3bmV3bmV3bmV3bmV3bmV3', created_at: t0, expires_at: null },
        { secret: 'whsec_b2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xk', created_at: t0 - 1_000, expires_at: t0 + 60_000 },
      ],
    };
    await store.putResource({
      id: 'ep_reg', account_id: 'acct_reg', kind: RESOURCE_KINDS.endpoint, doc: doc as unknown as Record<string, unknown>,
      enabled: true, disabled_reason: null, created_at: t0, updated_at: t0, last_success_at: null, failing_since: null,
    });
    const registry = new TargetRegistry(store, clock);

    const first = await registry.sendSettings('acct_reg', 'ep_reg');
    assert.deepEqual(first?.secrets.length, 2, 'both secrets sign during the rotation');
    assert.equal(await registry.sendSettings('acct_reg', 'ep_reg'), first, 'the same settings object again: nothing rebuilt per attempt');

    // Within the registry's cache of the account's targets (the same loaded resource), the old
    // secret's expiry still takes effect at once.
    clock.advance(60_001);
    const later = await registry.sendSettings('acct_reg', 'ep_reg');
    assert.deepEqual(later?.secrets, [doc.secrets[0]!.secret], 'the retired secret no longer signs');
  } finally {
    await opened.cleanup();
  }
});

test('an account\'s targets are renewed before they run out, and a load begun before an invalidation is not kept', async () => {
  const opened = sqliteDir();
  try {
    const store = opened.store;
    await store.migrate();
    const clock = new FakeClock();
    await store.createAccount({ id: 'acct_renew', name: 'renew', created_at: clock.now() }, 'hash_renew');
    const registry = new TargetRegistry(store, clock);

    // Used every 20 ms: the index in use is renewed in the background from 750 ms of age on, so
    // the next one is loaded before the first has run out (1 s) and no use waits for a load.
    const first = await registry.forAccount('acct_renew');
    const next = await waitFor(async () => {
      const t = await registry.forAccount('acct_renew');
      if (t === first) await new Promise((r) => setTimeout(r, 20));
      return t === first ? undefined : t;
    }, 5_000, 'a renewed index');
    assert.ok(next.loaded_at - first.loaded_at < 1_000, `renewed ${next.loaded_at - first.loaded_at} ms after the first load: before it ran out`);

    // A load under way when a write invalidates the account may have read the targets before
    // the write: its result is not cached, and the next use loads again.
    registry.invalidate('acct_renew');
    const before = registry.forAccount('acct_renew');
    registry.invalidate('acct_renew');
    const loadedBefore = await before;
    const after = await registry.forAccount('acct_renew');
    assert.notEqual(after, loadedBefore, 'the load begun before the invalidation was not kept');
    assert.equal(await registry.forAccount('acct_renew'), after, 'the load after it is');
  } finally {
    await opened.cleanup();
  }
});
