/**
 * Issue 9, retention, on every backend, with a fake clock: succeeded deliveries (and their
 * attempts), ended calls and old keys go once older than the retention age; a dead delivery
 * stays (and keeps its call) until it is retried and ages again, or until it is older than the
 * dead-retention age. Deletion runs in batches until nothing is left.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { FakeClock } from '../src/clock.ts';
import type { Store } from '../src/store/contract.ts';
import { Retention } from '../src/retention.ts';
import { BACKENDS, DAY, claim, enqueue, newAccount, result, openForSuite } from './store-harness.ts';

async function settle(store: Store, now: number, status: 'succeeded' | 'dead'): Promise<string[]> {
  const got = await claim(store, 'retention', now, { limit: 1000 });
  await store.recordAttempts(got.map((d) => result('retention', d, status, now)), now);
  return got.map((d) => d.id);
}

async function drain(r: Retention): Promise<number> {
  let total = 0;
  for (let n = await r.runOnce(); n > 0; n = await r.runOnce()) total += n;
  return total;
}

for (const backend of BACKENDS) {
  if (backend.skip) {
    test(`${backend.name}: retention`, { skip: backend.skip }, () => {});
    continue;
  }

  describe(`${backend.name}: retention`, () => {
    let store: Store;
    openForSuite(backend, (o) => {
      store = o.store;
    });

    test('old rows go in batches, dead deliveries stay until retried or expired', async () => {
      const T0 = Date.UTC(2030, 0, 1);
      const clock = new FakeClock(T0);
      const retention = new Retention({ store, clock, log: pino({ level: 'silent' }), retentionMs: 30 * DAY, deadRetentionMs: 90 * DAY });
      const acct = await newAccount(store);
      const ended = { status: 'ended' as const, created_at: T0 };

      // A: ended, its two deliveries succeeded. B: ended, its delivery dead. 600 more like A, so
      // the deletion needs more than one batch of 500.
      const a = await enqueue(store, acct, T0, [{ seq: 1, key: 'ret_a' }, { seq: 2, key: 'ret_a2' }], ended);
      const many = [];
      for (let i = 0; i < 600; i++) many.push(await enqueue(store, acct, T0, [{ seq: 1, key: `ret_m${i % 7}` }], ended));
      assert.equal((await settle(store, T0, 'succeeded')).length, 602);
      const b = await enqueue(store, acct, T0 + 1, [{ seq: 1, key: 'ret_b' }], ended);
      assert.deepEqual(await settle(store, T0 + 1, 'dead'), b.ids);
      // C: a younger call, ended 20 days later.
      const c = await enqueue(store, acct, T0 + 20 * DAY, [{ seq: 1, key: 'ret_c' }], { status: 'ended', created_at: T0 + 20 * DAY });
      await settle(store, T0 + 20 * DAY, 'succeeded');

      const st = await store.stats(T0 + 20 * DAY);
      assert.deepEqual(st.deliveries, { queued: 0, pending: 0, delivering: 0, dead: 1 }, 'stats: the queue by status');
      assert.equal(st.oldest_due_at, null);
      assert.ok(st.database_bytes === null || st.database_bytes >= 0);

      clock.set(T0 + 29 * DAY);
      assert.equal(await drain(retention), 0, 'nothing is 30 days old yet');

      clock.set(T0 + 31 * DAY);
      assert.ok(await drain(retention) > 1200, 'A, the 600 like it, their events and attempts');
      assert.equal(await store.getCall(acct, a.call.id), undefined, 'call A is gone');
      assert.equal(await store.getDelivery(acct, a.ids[0]!), undefined, 'its delivery is gone');
      assert.deepEqual(await store.listAttempts(a.ids), [], 'and its attempts');
      assert.deepEqual(await store.listEvents([a.call.id, many[599]!.call.id]), []);
      assert.equal((await store.getDelivery(acct, b.ids[0]!))?.status, 'dead', 'the dead delivery stays');
      assert.ok(await store.getCall(acct, b.call.id), 'and keeps its call');
      assert.equal((await store.listAttempts(b.ids)).length, 1);
      assert.ok(await store.getCall(acct, c.call.id), 'C is younger than 30 days');

      // B is retried from the log and succeeds: it ages again from now.
      const retriedAt = T0 + 31 * DAY;
      assert.equal(await store.retryDelivery(acct, b.ids[0]!, retriedAt), true);
      assert.deepEqual(await settle(store, retriedAt, 'succeeded'), b.ids);
      clock.set(T0 + 60 * DAY);
      await drain(retention);
      assert.ok(await store.getDelivery(acct, b.ids[0]!), 'the retried delivery counts from its new result');
      assert.equal(await store.getCall(acct, c.call.id), undefined, 'C is 40 days old: gone');
      clock.set(retriedAt + 31 * DAY);
      await drain(retention);
      assert.equal(await store.getDelivery(acct, b.ids[0]!), undefined);
      assert.equal(await store.getCall(acct, b.call.id), undefined, 'no delivery left: the call goes too');

      // D: dead and never retried, kept for the dead-retention age (90 days) after it died.
      const diedAt = T0 + 70 * DAY;
      const d = await enqueue(store, acct, diedAt, [{ seq: 1, key: 'ret_d' }], { status: 'ended', created_at: diedAt });
      await settle(store, diedAt, 'dead');
      clock.set(diedAt + 89 * DAY);
      await drain(retention);
      assert.equal((await store.getDelivery(acct, d.ids[0]!))?.status, 'dead', 'dead for 89 days: kept');
      clock.set(diedAt + 91 * DAY);
      await drain(retention);
      assert.equal(await store.getDelivery(acct, d.ids[0]!), undefined, 'dead for 91 days: expired');
      assert.equal(await store.getCall(acct, d.call.id), undefined);
    });
  });
}
