/**
 * Issue 13: Store.liveCalls(driver), what a driver takes over at start (the SIP driver ends the
 * calls the previous run left live): the calls not ended whose driver is the one asked, of every
 * account, on every backend.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Call } from '../src/calls/model.ts';
import type { Store } from '../src/store/contract.ts';
import { BACKENDS, makeCall, makeEvent, newAccount } from './store-harness.ts';

async function put(store: Store, c: Call): Promise<Call> {
  assert.equal(await store.writeCall({ call: c, expected_version: null, events: [makeEvent(c, 1)], timer_due_at: null, deliveries: [] }), 'written');
  return c;
}

for (const backend of BACKENDS) {
  test(`${backend.name}: liveCalls answers the not-ended calls of one driver, of every account`, { skip: backend.skip }, async () => {
    const h = await backend.open();
    try {
      const store = h.store;
      await store.migrate();
      const a = await newAccount(store);
      const b = await newAccount(store);
      const sip = (acct: string, o: Partial<Call> = {}) => makeCall(acct, { driver_state: { driver: 'sip', state: { legs: {} } }, last_seq: 1, ...o });
      const live1 = await put(store, sip(a));
      const live2 = await put(store, sip(b, { status: 'answered' }));
      const ended = await put(store, sip(a));
      await put(store, makeCall(a, { driver_state: { driver: 'sim', state: null }, last_seq: 1 }));
      await put(store, makeCall(b, { last_seq: 1 })); // stored before drivers had records
      // Ended by a later write: no longer live.
      const before = ended.version;
      ended.status = 'ended';
      ended.outcome = 'completed';
      ended.version += 1;
      assert.equal(await store.writeCall({ call: ended, expected_version: before, events: [], timer_due_at: null, deliveries: [] }), 'written');

      const got = await store.liveCalls('sip');
      assert.deepEqual(got.map((c) => c.id).sort(), [live1.id, live2.id].sort());
      assert.deepEqual(got.find((c) => c.id === live1.id)?.driver_state, { driver: 'sip', state: { legs: {} } });
      assert.deepEqual(await store.liveCalls('nobody'), []);
    } finally {
      await h.cleanup();
    }
  });
}
