/**
 * Issue 10, chains (store contract, claimDeliveries `followers`): a claim may lease with each
 * head its line's later deliveries, in event order; whatever is handed back — by the owner or by
 * a lease that ran out — leaves the line with one due head and the rest waiting behind it.
 * Both backends chain (SQLite in its in-memory queue, PostgreSQL in SQL) with the same order
 * guarantees.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Claimed, Store } from '../src/store/contract.ts';
import { BACKENDS, enqueue, epoch, getDelivery, ids, newAccount, result, openForSuite } from './store-harness.ts';

// In event order (a claim's answer is in due-time order; the dispatcher orders each chain).
const chainClaim = async (store: Store, owner: string, now: number, followers: number, lease = 60_000): Promise<Claimed[]> =>
  (await store.claimDeliveries(owner, now, now + lease, 100, { free: new Map(), fallback: 100 }, [], followers)).sort((a, b) => a.event_seq - b.event_seq);

for (const backend of BACKENDS) {
  if (backend.skip) {
    test(`${backend.name}: chained claims`, { skip: backend.skip }, () => {});
    continue;
  }

  describe(`${backend.name}: chained claims`, () => {
    let store: Store;
    openForSuite(backend, (o) => {
      store = o.store;
    });

    /** A call with four deliveries to one target, and a claim of its line with up to `n` followers. */
    const line = async (key: string, T: number, n: number) => {
      const acct = await newAccount(store);
      const { ids: line } = await enqueue(store, acct, T, [1, 2, 3, 4].map((seq) => ({ seq, key })));
      const got = await chainClaim(store, 'o1', T, n);
      return { acct, line, got };
    };

    test('a head comes with its line’s later deliveries, in order, under the same lease; never more than asked', async () => {
      const T = epoch();
      const { line: all, got } = await line('chain_a', T, 2);
      // A prefix of the line: the head first, then up to 2 followers in event order.
      assert.deepEqual(ids(got), all.slice(0, 3));
      for (const d of got) {
        assert.equal(d.status, 'delivering');
        assert.equal(d.locked_by, 'o1');
        assert.equal(d.locked_until, T + 60_000);
      }
      assert.deepEqual(await chainClaim(store, 'o2', T + 1, 15), [], 'nothing else of the line is due');
      // Without followers asked, a claim is heads only (the default).
      const other = await line('chain_a0', T, 0);
      assert.deepEqual(ids(other.got), other.line.slice(0, 1));
    });

    test('a chain handed back: its head is due again, the rest wait behind it', async () => {
      const T = epoch();
      const { line: all, got } = await line('chain_b', T, 15);
      await store.releaseDeliveries('o1', T + 10, ids(got));
      const again = await chainClaim(store, 'o2', T + 20, 0);
      assert.deepEqual(ids(again), all.slice(0, 1), 'the head, and only the head, is due');
      // and the followers are free again: the head's next claim takes them with it
      await store.releaseDeliveries('o2', T + 30, ids(again));
      assert.deepEqual(ids(await chainClaim(store, 'o3', T + 40, 15)), all);
    });

    test('the head is retried later: the followers go back behind it and wait for its success', async () => {
      const T = epoch();
      const { line: all, got } = await line('chain_c', T, 15);
      const head = got[0]!;
      // The head failed (retry at T+5000); its followers are handed back by the next round.
      await store.recordAttempts([result('o1', head, 'pending', T + 10, { next: T + 5000 })], T + 10);
      await store.releaseDeliveries('o1', T + 11, ids(got.slice(1)));
      assert.deepEqual(await chainClaim(store, 'o2', T + 20, 15), [], 'nothing due before the retry');
      const retried = await chainClaim(store, 'o2', T + 5000, 15);
      assert.deepEqual(ids(retried), all.slice(0, 4), 'the head again, and its followers with it');
      assert.equal(retried[0]!.attempts, 1);
    });

    test('followers after a head that succeeded: handed back, the first of them is the new head', async () => {
      const T = epoch();
      const { line: all, got } = await line('chain_d', T, 15);
      await store.recordAttempts([result('o1', got[0]!, 'succeeded', T + 10)], T + 10);
      await store.releaseDeliveries('o1', T + 11, ids(got.slice(1)));
      assert.deepEqual(ids(await chainClaim(store, 'o2', T + 20, 0)), all.slice(1, 2));
    });

    test('the log shows a chain’s followers as waiting and only its head as under way; the next once the head is done', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const { ids: all } = await enqueue(store, acct, T, [1, 2, 3, 4].map((seq) => ({ seq, key: 'chain_v' })));
      const before = (await store.stats(T)).deliveries;
      const got = await chainClaim(store, 'o1', T, 15);
      assert.deepEqual(ids(got), all, 'the head and its three followers, leased together');
      // Nothing of a follower is sent before the head is done: waiting, as before the claim.
      assert.equal((await getDelivery(store, acct, all[0]!)).status, 'delivering');
      for (const id of all.slice(1)) {
        const f = await getDelivery(store, acct, id);
        assert.deepEqual([f.status, f.locked_by, f.locked_until], ['queued', null, null], id);
      }
      const under = await store.listDeliveries(acct, { status: 'delivering' }, 100, null);
      assert.deepEqual(under.map((d) => d.id), all.slice(0, 1));
      const waiting = await store.listDeliveries(acct, { status: 'pending' }, 100, null);
      assert.deepEqual(waiting.map((d) => d.id).sort(), all.slice(1).sort());
      const after = (await store.stats(T)).deliveries;
      assert.deepEqual(
        { delivering: after.delivering! - before.delivering!, queued: after.queued! - before.queued!, pending: after.pending! - before.pending! },
        { delivering: 1, queued: 0, pending: -1 }, 'the counts: one under way more, one due less, the waiting ones as they were',
      );
      // The head succeeded: the first follower is now under way (sent next in the chain), the others still wait.
      await store.recordAttempts([result('o1', got[0]!, 'succeeded', T + 10)], T + 10);
      assert.equal((await getDelivery(store, acct, all[1]!)).status, 'delivering');
      for (const id of all.slice(2)) assert.equal((await getDelivery(store, acct, id)).status, 'queued', id);
      await store.releaseDeliveries('o1', T + 11, ids(got.slice(1)));
    });

    test('an earlier event retried by hand while a later one is under way: the later one shows under way', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const { ids: all } = await enqueue(store, acct, T, [1, 2].map((seq) => ({ seq, key: 'chain_r' })));
      const first = await chainClaim(store, 'o1', T, 0);
      await store.recordAttempts([result('o1', first[0]!, 'succeeded', T + 10)], T + 10);
      const second = await chainClaim(store, 'o1', T + 20, 0);
      assert.deepEqual(ids(second), all.slice(1));
      assert.equal(await store.retryDelivery(acct, all[0]!, T + 30), true);
      assert.equal((await getDelivery(store, acct, all[1]!)).status, 'delivering');
      assert.deepEqual((await store.listDeliveries(acct, { status: 'delivering' }, 100, null)).map((d) => d.id), all.slice(1));
      await store.releaseDeliveries('o1', T + 40);
    });

    test('a lease that runs out hands the whole chain back in order: the head first, never a follower alone', async () => {
      const T = epoch();
      const { line: all, got } = await line('chain_e', T, 15);
      assert.ok(got.length >= 1);
      assert.deepEqual(await chainClaim(store, 'o2', T + 59_999, 15), [], 'the lease holds');
      // Past the lease (a claim reaps at most once a second): the head is due again; followers wait behind it.
      const taken = await chainClaim(store, 'o2', T + 61_000, 0);
      assert.deepEqual(ids(taken), all.slice(0, 1));
      await store.recordAttempts([result('o2', taken[0]!, 'succeeded', T + 61_010)], T + 61_010);
      assert.deepEqual(ids(await chainClaim(store, 'o2', T + 61_020, 0)), all.slice(1, 2), 'then the second, not the third');
    });
  });
}
