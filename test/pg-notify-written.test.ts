/**
 * PostgreSQL: a call write's "there is work" goes out with the write, on its connection, right
 * behind it (store.ts #written), and only when the write made work: a timer, or a delivery due
 * now. A write whose deliveries all wait behind an earlier, unsettled event sends none (the
 * settle of that event promotes them in the same round). A test listener hears the store's
 * channel; notifications arrive in commit order, so once its own marker has arrived, every
 * notification of an earlier write has too — once that NOTIFY has committed: a write's answer
 * does not wait for the NOTIFY behind it, so the store here has one connection, and a read
 * through it (`settled`) runs only after the NOTIFY before it has answered.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { EVERY_MS } from '../src/store/postgres/notifier.ts';
import { WORK_CHANNEL } from '../src/store/postgres/store.ts';
import { pgStore, PG_SKIP, PG_URL, waitFor } from './helpers.ts';
import { epoch, makeCall, makeDelivery, makeEvent, newAccount } from './store-harness.ts';

test('postgres: a call write notifies other processes when it made work, and only then', { skip: PG_SKIP, timeout: 30_000 }, async () => {
  const p = pgStore('hl_notify', { max: 1 });
  const ear = new pg.Client({ connectionString: PG_URL });
  try {
    await p.store.migrate();
    const channel = `${WORK_CHANNEL}_${p.schema}`.slice(0, 63);
    const heard: string[] = [];
    ear.on('notification', (n) => heard.push(n.payload ?? ''));
    await ear.connect();
    await ear.query(`LISTEN "${channel}"`);
    const T = epoch();
    const mark = async (m: string) => {
      await p.store.stats(T); // behind the write's NOTIFY on the store's one connection
      await ear.query('SELECT pg_notify($1, $2)', [channel, m]);
      await waitFor(() => heard.includes(m), 5000, `marker ${m}`);
    };
    const acct = await newAccount(p.store);
    // a new call whose first delivery is due: work
    const x = makeCall(acct, { last_seq: 1 });
    assert.equal(await p.store.writeCall({ call: x, expected_version: null, events: [makeEvent(x, 1)], timer_due_at: null, deliveries: [makeDelivery(x, { seq: 1 }, T)] }), 'written');
    await mark('after 1');
    assert.deepEqual(heard, ['', 'after 1']);
    // its next event, queued behind the first (unsettled), and no timer: no work for anyone
    // (the store sends at most one NOTIFY per EVERY_MS: wait that out, or this one could not send)
    await new Promise((r) => setTimeout(r, 2 * EVERY_MS));
    const x2 = { ...x, version: 2, last_seq: 2 };
    assert.equal(await p.store.writeCall({ call: x2, expected_version: 1, events: [makeEvent(x2, 2)], timer_due_at: null, deliveries: [makeDelivery(x2, { seq: 2 }, T)] }), 'written');
    await mark('after 2');
    assert.deepEqual(heard, ['', 'after 1', 'after 2'], 'the queued-only write sent no notification');
    // another call with a timer and no delivery: work (for an engine)
    await new Promise((r) => setTimeout(r, 2 * EVERY_MS));
    const y = makeCall(acct);
    assert.equal(await p.store.writeCall({ call: y, expected_version: null, events: [], timer_due_at: T, deliveries: [] }), 'written');
    await mark('after 3');
    assert.deepEqual(heard, ['', 'after 1', 'after 2', '', 'after 3']);
  } finally {
    await ear.end();
    await p.cleanup();
  }
});
