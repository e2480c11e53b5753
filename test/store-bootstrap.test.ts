/**
 * The bootstrap key made only if there is none (`setBootstrapKey` with `onlyIfNone`): what a start
 * without HOOKLINE_API_KEY does. On a shared database (PostgreSQL) several API processes may
 * start together, each having found no key: exactly one makes it (and prints it); before the
 * advisory lock each made one and the last deleted the others' — a printed key that did not work.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newId } from '../src/ids.ts';
import type { Store } from '../src/store/contract.ts';
import { BACKENDS, openForSuite } from './store-harness.ts';

for (const backend of BACKENDS) {
  if (backend.skip) {
    test(`${backend.name}: bootstrap key`, { skip: backend.skip }, () => {});
    continue;
  }

  describe(`${backend.name}: bootstrap key`, () => {
    let store: Store;
    openForSuite(backend, (o) => {
      store = o.store;
    });

    test('made only if there is none: the first is stored, a second finds it and changes nothing', async () => {
      const boot = newId('acct');
      assert.equal(await store.setBootstrapKey(boot, 'hash_once_1', 1000, true), true);
      assert.deepEqual(await store.findApiKey('hash_once_1'), { account_id: boot, bootstrap: true });
      assert.equal(await store.setBootstrapKey(newId('acct'), 'hash_once_2', 2000, true), false);
      assert.equal(await store.findApiKey('hash_once_2'), undefined);
      assert.deepEqual(await store.findApiKey('hash_once_1'), { account_id: boot, bootstrap: true });
      assert.equal(await store.getBootstrapAccount(), boot);
      // a configured key (HOOKLINE_API_KEY) still replaces it, same account
      assert.equal(await store.setBootstrapKey(boot, 'hash_once_3', 3000), true);
      assert.equal(await store.findApiKey('hash_once_1'), undefined);
      assert.deepEqual(await store.findApiKey('hash_once_3'), { account_id: boot, bootstrap: true });
    });

    if (backend.shared) test('several processes at once, each having found none: exactly one makes it', async () => {
      for (let round = 0; round < 5; round++) {
        const fresh = await backend.open();
        try {
          await fresh.store.migrate();
          const stores = [fresh.store, fresh.another!(), fresh.another!()];
          // each connected and having looked, as a start does before it makes a key (hookline.ts)
          assert.deepEqual(await Promise.all(stores.map((st) => st.getBootstrapAccount())), stores.map(() => undefined));
          const accts = stores.map(() => newId('acct'));
          const made = await Promise.all(stores.map((st, i) => st.setBootstrapKey(accts[i]!, `hash_race_${i}`, 1000, true)));
          assert.equal(made.filter(Boolean).length, 1, `round ${round}: ${made}`);
          const w = made.indexOf(true);
          assert.equal(await fresh.store.getBootstrapAccount(), accts[w]);
          for (let i = 0; i < stores.length; i++) {
            assert.deepEqual(await fresh.store.findApiKey(`hash_race_${i}`), i === w ? { account_id: accts[w], bootstrap: true } : undefined);
          }
        } finally {
          await fresh.cleanup();
        }
      }
    });
  });
}
