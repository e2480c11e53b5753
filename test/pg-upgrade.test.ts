/**
 * PostgreSQL migration 0008 on a database written before it: the unsettled deliveries were rows
 * of `deliveries` (status, next attempt, lease); after the upgrade each has its delivery_queue
 * row, the settled ones none, and a store on the upgraded schema claims exactly the due ones, in
 * line order, and reaps a lease taken before the upgrade once it runs out.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { claim, enqueue, epoch, getDelivery, ids, newAccount, result, sorted } from './store-harness.ts';
import { PG_SKIP, pgStore, withPg } from './helpers.ts';

test('upgrading to delivery_queue keeps every unsettled delivery of the old schema, and only those', { skip: PG_SKIP }, async () => {
  const db = pgStore('hl_upgrade');
  try {
    const store = db.store;
    await store.migrate();
    const acct = await newAccount(store);
    const T = epoch();
    // a: settled; b: to be tried again at T + 100; c: due at T + 1 s; d: leased until T + 500;
    // e1 → e2: a line whose second event waits behind the first
    const { ids: [a, b, c, d] } = await enqueue(store, acct, T, [{ seq: 1, key: 'up_a' }, { seq: 1, key: 'up_b' }, { seq: 1, key: 'up_c', next: T + 1_000 }, { seq: 1, key: 'up_d' }]);
    const { ids: [e1, e2] } = await enqueue(store, acct, T, [{ seq: 1, key: 'up_e' }, { seq: 2, key: 'up_e' }]);
    const got = new Map((await claim(store, 'o1', T, { lease: 500, exclude: ['up_e'] })).map((x) => [x.id, x]));
    assert.deepEqual(sorted([...got.keys()]), sorted([a!, b!, d!]));
    await store.recordAttempts([result('o1', got.get(a!)!, 'succeeded', T + 5), result('o1', got.get(b!)!, 'pending', T + 5, { next: T + 100 })], T + 5);
    await store.close();

    // The schema as it was before 0008: the queue's columns and partial indexes on deliveries.
    await withPg((pg) => pg.query(`SET search_path = ${db.schema};
      ALTER TABLE deliveries ADD COLUMN locked_by TEXT, ADD COLUMN locked_until BIGINT;
      UPDATE deliveries d SET status = q.status, next_attempt_at = q.next_attempt_at, locked_by = q.locked_by, locked_until = q.locked_until
        FROM delivery_queue q WHERE q.id = d.id;
      DROP TABLE delivery_queue;
      CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
      CREATE INDEX deliveries_ready ON deliveries (order_key, next_attempt_at, id) WHERE status = 'pending';
      CREATE INDEX deliveries_leased ON deliveries (locked_until) WHERE status = 'delivering';
      CREATE INDEX deliveries_in_order ON deliveries (order_key, call_id, event_seq) WHERE status IN ('queued', 'pending', 'delivering');
      DELETE FROM schema_migrations WHERE version = 8;`));

    const next = db.another();
    await next.migrate();
    assert.equal((await getDelivery(next, acct, a!)).status, 'succeeded');
    assert.equal((await getDelivery(next, acct, d!)).status, 'delivering');
    assert.equal((await getDelivery(next, acct, e2!)).status, 'queued');
    // at T + 2 s: b, c and the line's head are due; d's lease (to T + 500) has run out
    const first = await claim(next, 'o2', T + 2_000);
    assert.deepEqual(sorted(ids(first)), sorted([b!, c!, d!, e1!]));
    assert.equal(first.find((x) => x.id === b)!.attempts, 1);
    // e2 becomes due once e1 settles
    await next.recordAttempts([result('o2', first.find((x) => x.id === e1)!, 'succeeded', T + 2_010)], T + 2_010);
    assert.deepEqual(ids(await claim(next, 'o2', T + 2_020)), [e2!]);
  } finally {
    await db.cleanup();
  }
});
