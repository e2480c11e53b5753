/**
 * PostgreSQL group commit: call writes made in one turn go to the server as one statement. Each
 * write still gets its own outcome, and a refused write (stale, taken key, taken call) changes
 * nothing while the others in its batch go in — also when a taken key fails the batch's
 * statement and the writes are run one by one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CallWrite } from '../src/store/contract.ts';
import { PG_SKIP, pgStore } from './helpers.ts';
import { claim, makeCall, makeDelivery, makeEvent, newAccount } from './store-harness.ts';

test('PostgreSQL: writes of one turn share a statement; each has its own outcome and a refused one writes nothing', { skip: PG_SKIP }, async () => {
  const p = pgStore('hl_batch');
  try {
    const store = p.store;
    await store.migrate();
    const T = 1_900_000_000_000;
    const acct = await newAccount(store);
    const first = (over: Partial<Parameters<typeof makeCall>[1]> = {}): CallWrite => {
      const call = makeCall(acct, { last_seq: 1, ...over });
      return { call, expected_version: null, events: [makeEvent(call, 1)], timer_due_at: T + 1000, deliveries: [makeDelivery(call, { seq: 1, key: 'batch_ep' }, T)] };
    };
    // Stored before: a call to update, one to go stale, a taken external id, a taken ingest id.
    const base = [first(), first(), first({ external_id: 'ext-batch' }), first({ driver_state: { driver: 'external', state: null } })];
    base[3]!.ingest_event_ids = ['evt-batch'];
    assert.deepEqual(await Promise.all(base.map((w) => store.writeCall(w))), ['written', 'written', 'written', 'written']);
    const [upd, stale] = base.map((w) => w.call);

    const next = (call: NonNullable<typeof upd>, expected: number): CallWrite => {
      const v = { ...call, status: 'ringing' as const, version: expected + 1, last_seq: 2 };
      return { call: v, expected_version: expected, events: [makeEvent(call, 2)], timer_due_at: null, deliveries: [makeDelivery(call, { seq: 2, key: 'batch_ep' }, T)] };
    };
    const fresh = Array.from({ length: 20 }, () => first());
    const clash = first({ external_id: 'ext-batch' });
    const batch = [next(upd!, 1), next(stale!, 7), clash, ...fresh];
    assert.deepEqual(await Promise.all(batch.map((w) => store.writeCall(w))), ['written', 'stale', 'call_exists', ...fresh.map(() => 'written')]);
    assert.equal((await store.getCall(acct, stale!.id))?.version, 1, 'the stale write changed nothing');
    assert.deepEqual((await store.listEvents([stale!.id])).map((e) => e.seq), [1]);
    assert.equal(await store.getCall(acct, clash.call.id), undefined);
    assert.deepEqual(await store.listDeliveries(acct, { call_id: clash.call.id }, 10, null), []);
    assert.deepEqual((await store.listEvents([upd!.id])).map((e) => e.seq), [1, 2]);
    assert.equal((await store.listDeliveries(acct, { call_id: upd!.id }, 10, null)).length, 2);

    // A taken ingest id fails the batch's statement: the writes then go one by one.
    const taken = first({ driver_state: { driver: 'external', state: null } });
    taken.ingest_event_ids = ['evt-batch'];
    const others = Array.from({ length: 10 }, () => first());
    const idem = first();
    idem.idempotency = { route: 'POST /v1/calls', key: 'batch-key', request_hash: 'h', status: 201, body: '{}' };
    const twin = first();
    twin.idempotency = { ...idem.idempotency };
    const outcomes = await Promise.all([taken, ...others, idem, twin].map((w) => store.writeCall(w)));
    assert.equal(outcomes[0], 'key_taken');
    assert.deepEqual(outcomes.slice(1, 11), others.map(() => 'written'));
    assert.deepEqual(outcomes.slice(11).sort(), ['key_taken', 'written'], 'one of two writes with the same idempotency key');
    assert.equal(await store.getCall(acct, taken.call.id), undefined);
    assert.deepEqual(await store.listEvents([taken.call.id]), []);
    for (const w of others) assert.ok(await store.getCall(acct, w.call.id));

    // Every delivery written is claimable: first events are pending, the second of `upd` waits.
    const claimed = await claim(store, 'o', T, { limit: 1000 });
    const expected = [...base.map((w) => w.call.id), ...fresh.map((w) => w.call.id), ...others.map((w) => w.call.id)].length + 1;
    assert.equal(claimed.length, expected);
    assert.ok(!claimed.some((d) => d.call_id === upd!.id && d.event_seq === 2), 'seq 2 waits behind seq 1');
  } finally {
    await p.cleanup();
  }
});

test('PostgreSQL: call numbers taken at once, from two stores, are 1…n per account without a gap or a repeat', { skip: PG_SKIP }, async () => {
  const p = pgStore('hl_numbers');
  try {
    await p.store.migrate();
    const stores = [p.store, p.another()];
    const accounts = [await newAccount(p.store), await newAccount(p.store)];
    const asks = Array.from({ length: 300 }, (_, i) => ({ store: stores[i % 2]!, account: accounts[Math.floor(i / 3) % 2]! }));
    const got = await Promise.all(asks.map((a) => a.store.nextCallNumber(a.account)));
    for (const account of accounts) {
      const mine = got.filter((_, i) => asks[i]!.account === account).sort((a, b) => a - b);
      assert.deepEqual(mine, Array.from({ length: mine.length }, (_, i) => i + 1));
    }
  } finally {
    await p.cleanup();
  }
});
