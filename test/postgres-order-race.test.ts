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
import type { Claimed } from '../src/store/contract.ts';
import { PG_SKIP, pgStore } from './helpers.ts';
import { claim, enqueue, getDelivery, makeDelivery, makeEvent, newAccount, result } from './store-harness.ts';

const CALLS = 300;
const AT_ONCE = 30;

for (const targets of [1, 3]) {
  test(`PostgreSQL: a call write racing the settle of the line’s previous event never leaves its delivery queued for ever (${targets} target${targets > 1 ? 's' : ''} per call)`, { skip: PG_SKIP, timeout: 120_000 }, async () => {
    const p = pgStore('hl_order_race');
    try {
      await p.store.migrate();
      const writer = p.store;
      const settler = p.another();
      const T = 1_800_000_000_000;
      const acct = await newAccount(writer);
      const keys = Array.from({ length: targets }, (_, k) => `race_${k}`);
      const calls: { call: Awaited<ReturnType<typeof enqueue>>['call']; first: Claimed[]; second: string[] }[] = [];
      for (let i = 0; i < CALLS; i++) {
        const { call } = await enqueue(writer, acct, T, keys.map((key) => ({ seq: 1, key })));
        calls.push({ call, first: [], second: [] });
      }
      const byCall = new Map(calls.map((c) => [c.call.id, c]));
      for (;;) {
        const got = await claim(settler, 'settler', T, { limit: 100 });
        if (got.length === 0) break;
        for (const d of got) byCall.get(d.call_id)!.first.push(d);
      }
      assert.ok(calls.every((c) => c.first.length === targets), 'every first event claimed');

      // Event 2 of each call (one delivery per target) is written while event 1 is settled for
      // every target, both at once, a few dozen calls at a time; half the pairs start with the
      // write, half with the settle. The settle names the targets in the opposite order to the
      // write: the two must still not deadlock.
      for (let from = 0; from < CALLS; from += AT_ONCE) {
        await Promise.all(calls.slice(from, from + AT_ONCE).map(async (c, j) => {
          const next = { ...c.call, status: 'ringing' as const, version: 2, last_seq: 2 };
          const second = keys.map((key) => makeDelivery(c.call, { seq: 2, key }, T + 10));
          c.second = second.map((d) => d.id);
          const write = (): Promise<unknown> => writer.writeCall({ call: next, expected_version: 1, events: [makeEvent(c.call, 2)], timer_due_at: null, deliveries: second })
            .then((o) => assert.equal(o, 'written'));
          const firsts = [...c.first].sort((a, b) => (a.order_key < b.order_key ? 1 : -1));
          const settle = (): Promise<unknown> => settler.recordAttempts(firsts.map((d) => result('settler', d, 'succeeded', T + 10)), T + 10);
          await Promise.all(j % 2 === 0 ? [write(), settle()] : [settle(), write()]);
        }));
      }

      const stuck: string[] = [];
      for (const c of calls) {
        for (const d of c.first) assert.equal((await getDelivery(writer, acct, d.id)).status, 'succeeded');
        for (const id of c.second) {
          const second = await getDelivery(writer, acct, id);
          if (second.status !== 'pending') stuck.push(`${id}: ${second.status}`);
        }
      }
      assert.deepEqual(stuck, [], `${stuck.length} of ${CALLS * targets} second events wait behind a settled first one`);
    } finally {
      await p.cleanup();
    }
  });
}
