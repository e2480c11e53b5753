/**
 * Issue 9, isolation by design, in the storage contract on every backend: a claim goes target by
 * target, takes at most each target's free slots, round-robin, and a full target's backlog of
 * due rows never keeps another target's delivery from being claimed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Store } from '../src/store/contract.ts';
import { BACKENDS, enqueue, epoch, ids, newAccount, sorted, openForSuite } from './store-harness.ts';

const claimWith = (store: Store, now: number, limit: number, free: Record<string, number>, fallback = 100) =>
  store.claimDeliveries('claimer', now, now + 60_000, limit, { free: new Map(Object.entries(free)), fallback });

for (const backend of BACKENDS) {
  if (backend.skip) {
    test(`${backend.name}: claims go target by target`, { skip: backend.skip }, () => {});
    continue;
  }

  describe(`${backend.name}: claims go target by target`, () => {
    let store: Store;
    openForSuite(backend, (o) => {
      store = o.store;
    });

    test('a full target with a backlog of 2,000 due rows does not hide a healthy target’s one delivery', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      // The hung target's rows fell due first: in time order they all come before the healthy one.
      const backlog = await Promise.all(Array.from({ length: 2000 }, (_, i) => enqueue(store, acct, T - 1000 + (i % 500), [{ seq: 1, key: 'iso_hung' }])));
      assert.equal(backlog.length, 2000);
      const healthy = await enqueue(store, acct, T, [{ seq: 1, key: 'iso_ok' }]);
      const got = await claimWith(store, T, 128, { iso_hung: 0 });
      assert.deepEqual(ids(got), healthy.ids, 'only the healthy target’s delivery: the full one has no free slot');
    });

    test('each target gives at most its free slots, and unknown targets the fallback', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      for (let i = 0; i < 6; i++) {
        await enqueue(store, acct, T - 100 + i, [{ seq: 1, key: 'cap_a' }]);
        await enqueue(store, acct, T - 100 + i, [{ seq: 1, key: 'cap_b' }]);
        await enqueue(store, acct, T - 100 + i, [{ seq: 1, key: 'cap_c' }]);
      }
      const got = await claimWith(store, T, 100, { cap_a: 2, cap_b: 0 }, 3);
      const per = (k: string): number => got.filter((d) => d.order_key === k).length;
      assert.deepEqual([per('cap_a'), per('cap_b'), per('cap_c')], [2, 0, 3]);
      // The earliest due rows of each target come first.
      const a = got.filter((d) => d.order_key === 'cap_a').map((d) => d.next_attempt_at);
      assert.deepEqual(a, [T - 100, T - 99]);
    });

    test('round-robin: with a small limit every target gets its first before any gets a second', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      // Target rr_old has 20 rows due long before rr_new's 20: time order alone would give rr_old all.
      const old = [];
      const fresh = [];
      for (let i = 0; i < 20; i++) old.push(...(await enqueue(store, acct, T - 10_000 + i, [{ seq: 1, key: 'rr_old' }])).ids);
      for (let i = 0; i < 20; i++) fresh.push(...(await enqueue(store, acct, T - 10 + i % 10, [{ seq: 1, key: 'rr_new' }])).ids);
      const got = await claimWith(store, T, 6, {});
      assert.equal(got.filter((d) => d.order_key === 'rr_old').length, 3);
      assert.equal(got.filter((d) => d.order_key === 'rr_new').length, 3);
      assert.deepEqual(sorted(ids(got.filter((d) => d.order_key === 'rr_old'))), sorted(old.slice(0, 3)));
    });

    test('a row not yet due is not claimed, whatever the slots', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const later = await enqueue(store, acct, T, [{ seq: 1, key: 'due_later', next: T + 5000 }]);
      assert.deepEqual(await claimWith(store, T, 10, {}), []);
      assert.deepEqual(ids(await claimWith(store, T + 5000, 10, {})), later.ids);
    });
  });
}
