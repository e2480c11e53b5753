/**
 * PostgreSQL: a call write that adds event N+1 for a target while another process settles
 * event N of the same call and target. The write decides 'queued' (wait behind N) or 'pending'
 * (N is settled); the settle promotes the next queued row of the line. Whatever the
 * interleaving, event N+1 must end up due once N has settled: a row queued behind a settled
 * delivery, after the settle has looked for queued rows, would wait for ever.
 *
 * The call write is one statement (one snapshot), so it cannot simply read the line: this test
 * races the two hundreds of times across two stores (two pools, as two processes would).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Delivery } from '../src/store/contract.ts';
import { PG_SKIP, pgStore } from './helpers.ts';
import { claim, enqueue, getDelivery, makeDelivery, makeEvent, newAccount, result } from './store-harness.ts';

const LINES = 400;
const AT_ONCE = 40;

test('PostgreSQL: a call write racing the settle of the line’s previous event never leaves its delivery queued for ever', { skip: PG_SKIP, timeout: 120_000 }, async () => {
  const p = pgStore('hl_order_race');
  try {
    await p.store.migrate();
    const writer = p.store;
    const settler = p.another();
    const T = 1_800_000_000_000;
    const acct = await newAccount(writer);
    const lines: { call: Awaited<ReturnType<typeof enqueue>>['call']; first: Delivery | undefined; second: string }[] = [];
    for (let i = 0; i < LINES; i++) {
      const { call } = await enqueue(writer, acct, T, [{ seq: 1, key: `race_${i}` }]);
      lines.push({ call, first: undefined, second: '' });
    }
    const byCall = new Map(lines.map((l) => [l.call.id, l]));
    for (;;) {
      const got = await claim(settler, 'settler', T, { limit: 100 });
      if (got.length === 0) break;
      for (const d of got) byCall.get(d.call_id)!.first = d;
    }
    assert.ok(lines.every((l) => l.first), 'every first event claimed');

    // Event 2 of each call is written while event 1 is settled, both at once, a few dozen lines
    // at a time; half the pairs start with the write, half with the settle.
    for (let from = 0; from < LINES; from += AT_ONCE) {
      await Promise.all(lines.slice(from, from + AT_ONCE).map(async (l, j) => {
        const next = { ...l.call, status: 'ringing' as const, version: 2, last_seq: 2 };
        const d2 = makeDelivery(l.call, { seq: 2, key: l.first!.order_key }, T + 10);
        l.second = d2.id;
        const write = (): Promise<unknown> => writer.writeCall({ call: next, expected_version: 1, events: [makeEvent(l.call, 2)], timer_due_at: null, deliveries: [d2] })
          .then((o) => assert.equal(o, 'written'));
        const settle = (): Promise<unknown> => settler.recordAttempts([result('settler', l.first!, 'succeeded', T + 10)], T + 10);
        await Promise.all(j % 2 === 0 ? [write(), settle()] : [settle(), write()]);
      }));
    }

    const stuck: string[] = [];
    for (const l of lines) {
      assert.equal((await getDelivery(writer, acct, l.first!.id)).status, 'succeeded');
      const second = await getDelivery(writer, acct, l.second);
      if (second.status !== 'pending') stuck.push(`${l.second}: ${second.status}`);
    }
    assert.deepEqual(stuck, [], `${stuck.length} of ${LINES} second events wait behind a settled first one`);
  } finally {
    await p.cleanup();
  }
});
