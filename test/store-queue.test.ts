/**
 * Issue 6 / SPEC §7: the storage conformance suite's queue half — engine timers and deliveries:
 * due times, leases and their takeover, per-call order, the owner guard, and (PostgreSQL) claims
 * racing from several stores.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Call } from '../src/calls/model.ts';
import type { Claimed, Store } from '../src/store/contract.ts';
import { BACKENDS, claim, enqueue, epoch, getDelivery, ids, makeCall, makeDelivery, newAccount, result, sorted, type Opened, openForSuite } from './store-harness.ts';
import { pgStore, waitFor } from './helpers.ts';


for (const backend of BACKENDS) {
  if (backend.skip) {
    test(`${backend.name}: storage conformance: timers and deliveries`, { skip: backend.skip }, () => {});
    continue;
  }

  describe(`${backend.name}: storage conformance: timers and deliveries`, () => {
    let h: Opened;
    let store: Store;
    openForSuite(backend, (o) => {
      h = o;
      store = o.store;
    });

    test('timers: due ones only; a claimed timer waits for its lease to expire; release hands back', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const timer = async (due: number | null, c?: Call): Promise<Call> => {
        const call = c ? { ...c, version: c.version + 1 } : makeCall(acct);
        assert.equal(await store.writeCall({ call, expected_version: c ? c.version : null, events: [], timer_due_at: due, deliveries: [] }), 'written');
        return call;
      };
      const a = await timer(T + 100);
      let b = await timer(T + 200);
      const c = await timer(T + 5000);
      const claimed = async (owner: string, now: number, leaseMs = 1000, limit = 10): Promise<string[]> =>
        (await store.claimTimers(owner, now, now + leaseMs, limit)).map((t) => t.call_id);

      assert.equal(await store.nextTimerDue(), T + 100);
      assert.deepEqual(await claimed('o1', T + 99), [], 'nothing is due yet');
      const first = await store.claimTimers('o1', T + 250, T + 1250, 10);
      assert.deepEqual(first.map((t) => ({ call_id: t.call_id, due_at: t.due_at })), [{ call_id: a.id, due_at: T + 100 }, { call_id: b.id, due_at: T + 200 }]);
      // a store that reads the call with the claim (PostgreSQL) hands it over as written
      for (const [t, call] of [[first[0]!, a], [first[1]!, b]] as const) if (t.call) assert.deepEqual(t.call, call);
      assert.equal(await store.nextTimerDue(), T + 1250, 'a held timer is next looked at when its lease runs out');
      assert.deepEqual(await claimed('o2', T + 300), [], 'held by o1');
      assert.deepEqual(await claimed('o2', T + 1249), [], 'held by o1 until T+1250');
      assert.deepEqual(await claimed('o2', T + 1250, 1000, 1), [a.id], 'expired: taken over, limit honoured');
      assert.deepEqual(await claimed('o3', T + 1260, 1000), [b.id]);

      // release: only the owner's own claims go back.
      await store.releaseTimers('o1');
      assert.deepEqual(await claimed('o4', T + 1270), [], 'o1 holds nothing any more');
      await store.releaseTimers('o2');
      assert.deepEqual(await claimed('o4', T + 1280), [a.id]);

      // A write sets the timer anew (unleased, though o3 held it); null clears it.
      b = await timer(T + 1300, b);
      await timer(null, a);
      assert.deepEqual(await claimed('o5', T + 1300, 10_000), [b.id], 'a is cleared, c is not due');
      assert.deepEqual(await claimed('o6', T + 5000, 10_000), [c.id], 'b is held by o5');
      assert.equal(await store.nextTimerDue(), T + 11_300);
      assert.deepEqual(await claimed('o7', T + 11_299), []);
      assert.deepEqual(await claimed('o7', T + 15_000), [b.id, c.id], 'by due time');
    });

    test('deliveries: next_attempt_at is honoured; claiming leases; limit and order', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const { ids: [later] } = await enqueue(store, acct, T, [{ seq: 1, key: 'ep_a', next: T + 1000 }]);
      const first = await enqueue(store, acct, T, [{ seq: 1, key: 'ep_b', next: T + 30 }]);
      const second = await enqueue(store, acct, T, [{ seq: 1, key: 'ep_c', next: T + 10 }]);
      const third = await enqueue(store, acct, T, [{ seq: 1, key: 'ep_d', next: T + 20 }]);

      assert.equal(await store.nextDeliveryDue(T), T + 10);
      assert.deepEqual(await claim(store, 'o1', T + 9), [], 'nothing due');
      const got = await claim(store, 'o1', T + 100, { limit: 2, lease: 5000 });
      assert.deepEqual(ids(got), [second.ids[0], third.ids[0]], 'the earliest due first, at most `limit`');
      for (const d of got) {
        assert.equal(d.status, 'delivering');
        assert.equal(d.locked_by, 'o1');
        assert.equal(d.locked_until, T + 5100);
        assert.equal(d.attempts, 0);
      }
      assert.equal(await store.nextDeliveryDue(T + 100), T + 1000, 'rows due already are not "next"');
      assert.deepEqual(ids(await claim(store, 'o2', T + 100)), [first.ids[0]]);
      assert.deepEqual(await claim(store, 'o2', T + 999), []);
      assert.deepEqual(ids(await claim(store, 'o2', T + 1000)), [later]);
      assert.equal(await store.nextDeliveryDue(T + 1000), T + 5100, 'next: o1’s lease runs out');

      // The claimed row reads back whole: the request is rendered once and kept byte for byte.
      const d = await getDelivery(store, acct, later!);
      assert.deepEqual(d.request, { method: 'POST', url: 'https://receiver.example/hook', headers: { 'content-type': 'application/json' }, body: '{"seq":1}' });
      assert.equal(d.order_key, 'ep_a');
      assert.equal(d.target_format, 'standard');
      assert.equal(await store.getDelivery(await newAccount(store), later!), undefined, 'another account does not see it');
    });

    test('deliveries: per (order_key, call) in event_seq order; pending or delivering blocks, succeeded or dead frees', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const x = await enqueue(store, acct, T, [{ seq: 1, key: 'k1' }, { seq: 2, key: 'k1' }, { seq: 3, key: 'k1' }, { seq: 1, key: 'k2' }, { seq: 2, key: 'k2' }]);
      const y = await enqueue(store, acct, T, [{ seq: 1, key: 'k1' }, { seq: 2, key: 'k1' }]);
      const [x1, x2, x3, x1b, x2b] = x.ids;
      const [y1, y2] = y.ids;

      let got = await claim(store, 'o1', T);
      assert.deepEqual(sorted(ids(got)), sorted([x1!, x1b!, y1!]), 'only the first event of each (key, call)');
      const by = new Map(got.map((d) => [d.id, d]));
      assert.deepEqual(await claim(store, 'o1', T + 10), [], 'seq 2 waits while seq 1 is delivering');

      // x/k1 seq 1 fails and will be retried later: it is pending, seq 2 still waits.
      await store.recordAttempts([result('o1', by.get(x1!)!, 'pending', T + 20, { next: T + 5000 })], T + 20);
      assert.deepEqual(await claim(store, 'o1', T + 30), [], 'seq 2 waits while seq 1 is pending');
      // x/k2 seq 1 succeeds: x/k2 seq 2 is free. y seq 1 is given up on (dead): y seq 2 is free.
      await store.recordAttempts([result('o1', by.get(x1b!)!, 'succeeded', T + 40), result('o1', by.get(y1!)!, 'dead', T + 40)], T + 40);
      got = await claim(store, 'o1', T + 50);
      assert.deepEqual(sorted(ids(got)), sorted([x2b!, y2!]));
      // x/k1 seq 1 is retried at its time and succeeds: seq 2 next, then seq 3.
      const retried = await claim(store, 'o1', T + 5000);
      assert.deepEqual(ids(retried), [x1]);
      assert.equal(retried[0]!.attempts, 1);
      await store.recordAttempts([result('o1', retried[0]!, 'succeeded', T + 5001)], T + 5001);
      const two = await claim(store, 'o1', T + 5002);
      assert.deepEqual(ids(two), [x2]);
      await store.recordAttempts([result('o1', two[0]!, 'dead', T + 5003)], T + 5003);
      assert.deepEqual(ids(await claim(store, 'o1', T + 5004)), [x3]);
    });

    test('deliveries: the exclude list skips full order keys', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const a = await enqueue(store, acct, T, [{ seq: 1, key: 'ex_a' }]);
      const b = await enqueue(store, acct, T, [{ seq: 1, key: 'ex_b' }]);
      const c = await enqueue(store, acct, T, [{ seq: 1, key: 'ex_c' }]);
      assert.deepEqual(ids(await claim(store, 'o1', T, { exclude: ['ex_a', 'ex_c', 'ex_unknown'] })), [b.ids[0]]);
      assert.deepEqual(await claim(store, 'o1', T, { exclude: ['ex_a', 'ex_c'] }), []);
      assert.deepEqual(ids(await claim(store, 'o1', T, { exclude: ['ex_c'] })), [a.ids[0]]);
      assert.deepEqual(ids(await claim(store, 'o1', T, { exclude: [] })), [c.ids[0]]);
    });

    test('deliveries: an expired lease is taken over; the old owner’s late result changes nothing', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const { ids: [id] } = await enqueue(store, acct, T, [{ seq: 1, key: 'lease_k' }, { seq: 2, key: 'lease_k' }]);
      const [mine] = await claim(store, 'old', T, { lease: 1000 });
      assert.ok(mine);
      assert.equal(mine.id, id);
      assert.deepEqual(await claim(store, 'new', T + 999), [], 'the lease holds until T+1000');
      const [taken] = await claim(store, 'new', T + 1000, { lease: 1000 });
      assert.ok(taken);
      assert.equal(taken.id, id, 'taken over once expired');
      assert.equal(taken.locked_by, 'new');
      assert.equal(taken.locked_until, T + 2000);
      assert.equal(taken.attempts, 0);

      // The old owner finishes late: its result is not allowed to settle the row.
      await store.recordAttempts([result('old', mine, 'succeeded', T + 1100)], T + 1100);
      let row = await getDelivery(store, acct, id!);
      assert.equal(row.status, 'delivering');
      assert.equal(row.locked_by, 'new');
      assert.equal(row.locked_until, T + 2000);
      assert.equal(row.attempts, 0);
      assert.equal(row.last_status_code, null);
      assert.deepEqual(await claim(store, 'third', T + 1200), [], 'seq 2 still waits: seq 1 is not settled');

      // The new owner's result settles it.
      await store.recordAttempts([result('new', taken, 'pending', T + 1300, { next: T + 4000, code: 503 })], T + 1300);
      row = await getDelivery(store, acct, id!);
      assert.equal(row.status, 'pending');
      assert.equal(row.locked_by, null);
      assert.equal(row.locked_until, null);
      assert.equal(row.attempts, 1);
      assert.equal(row.next_attempt_at, T + 4000);
      assert.equal(row.last_status_code, 503);
      assert.equal(row.last_error, 'HTTP 503');
      assert.equal(row.updated_at, T + 1300);

      // releaseDeliveries hands back what an owner holds, and only that.
      const [again] = await claim(store, 'new', T + 4000);
      assert.equal(again?.id, id);
      await store.releaseDeliveries('someone-else', T + 4001);
      assert.equal((await getDelivery(store, acct, id!)).status, 'delivering');
      await store.releaseDeliveries('new', T + 4002, ['dlv_some_other']);
      assert.equal((await getDelivery(store, acct, id!)).status, 'delivering', 'only the ids named');
      await store.releaseDeliveries('new', T + 4002, [id!]);
      row = await getDelivery(store, acct, id!);
      assert.equal(row.status, 'pending');
      assert.equal(row.locked_by, null);
      assert.equal(row.attempts, 1, 'a hand-back is not an attempt');
      assert.deepEqual(ids(await claim(store, 'third', T + 4003)), [id]);
    });

    test('deliveries: a retry due at once, claimed in the round that records the failure, is the second attempt', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const { ids: [id] } = await enqueue(store, acct, T, [{ seq: 1, key: 'again_k' }]);
      const [first] = await claim(store, 'o1', T);
      assert.equal(first?.attempts, 0);
      // The failure is handed in with the next claim, and its retry is due at once: SQLite
      // records it in a group commit after answering the claim, so the count must come from
      // the queue, not from the row.
      const again = await store.claimDeliveries('o1', T + 1, T + 60_001, 10, { free: new Map(), fallback: 10 }, [result('o1', first!, 'pending', T + 1, { next: T + 1 })]);
      const retried = again.length > 0 ? again : await claim(store, 'o1', T + 2);
      assert.deepEqual(ids(retried), [id]);
      assert.equal(retried[0]!.attempts, 1, 'the next attempt is numbered 2');
    });

    test('deliveries: recordAttempts settles rows and lists every attempt', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const { ids: [a, b, c] } = await enqueue(store, acct, T, [{ seq: 1, key: 'ra_a' }, { seq: 1, key: 'ra_b' }, { seq: 1, key: 'ra_c' }]);
      let got = new Map((await claim(store, 'o1', T)).map((d) => [d.id, d]));
      assert.equal(got.size, 3);
      // One batch: one success, one retry, one dead (with no answer at all).
      await store.recordAttempts([
        result('o1', got.get(a!)!, 'succeeded', T + 10),
        result('o1', got.get(b!)!, 'pending', T + 10, { next: T + 100, code: 500 }),
        result('o1', got.get(c!)!, 'dead', T + 10, { code: null }),
      ], T + 10);
      const ra = await getDelivery(store, acct, a!);
      assert.deepEqual([ra.status, ra.attempts, ra.last_status_code, ra.last_error, ra.locked_by], ['succeeded', 1, 200, null, null]);
      const rc = await getDelivery(store, acct, c!);
      assert.deepEqual([rc.status, rc.attempts, rc.last_status_code, rc.last_error], ['dead', 1, null, 'connect ECONNREFUSED']);

      got = new Map((await claim(store, 'o1', T + 100)).map((d) => [d.id, d]));
      assert.deepEqual([...got.keys()], [b]);
      const second = result('o1', got.get(b!)!, 'succeeded', T + 110);
      await store.recordAttempts([second], T + 110);
      // The same result again (a repeated flush) neither fails nor adds an attempt.
      await store.recordAttempts([second], T + 111);

      const attempts = await store.listAttempts([b!, a!, c!, 'dlv_unknown']);
      assert.deepEqual(attempts.map((x) => [x.delivery_id, x.attempt]), [[a, 1], [b, 1], [b, 2], [c, 1]], 'by delivery, then attempt');
      const b2 = attempts.find((x) => x.delivery_id === b && x.attempt === 2)!;
      // as recorded: its request the JSON the dispatcher made (head + tail)
      const { request_head, request_tail, ...rest } = second.attempt;
      assert.deepEqual(b2, { ...rest, request: JSON.parse(request_head + request_tail) });
      const c1 = attempts.find((x) => x.delivery_id === c)!;
      assert.equal(c1.response_headers, null);
      assert.equal(c1.response_excerpt, null);
      assert.equal(c1.status_code, null);
      assert.deepEqual(await store.listAttempts([]), []);
      assert.equal((await getDelivery(store, acct, b!)).attempts, 2);
    });

    test('deliveries: retryDelivery requeues settled rows, not one being attempted', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      const { ids: [a, b] } = await enqueue(store, acct, T, [{ seq: 1, key: 'rt_a' }, { seq: 1, key: 'rt_b' }]);
      const got = new Map((await claim(store, 'o1', T)).map((d) => [d.id, d]));
      assert.equal(await store.retryDelivery(acct, a!, T + 1), false, 'being attempted');
      await store.recordAttempts([result('o1', got.get(a!)!, 'succeeded', T + 5), result('o1', got.get(b!)!, 'dead', T + 5)], T + 5);
      assert.equal(await store.retryDelivery(await newAccount(store), a!, T + 6), false, 'another account');
      assert.equal(await store.retryDelivery(acct, 'dlv_unknown', T + 6), false);
      assert.equal(await store.retryDelivery(acct, a!, T + 10), true);
      assert.equal(await store.retryDelivery(acct, b!, T + 20), true);
      const ra = await getDelivery(store, acct, a!);
      assert.deepEqual([ra.status, ra.next_attempt_at, ra.attempts], ['pending', T + 10, 1]);
      assert.deepEqual(ids(await claim(store, 'o2', T + 15)), [a]);
      assert.deepEqual(ids(await claim(store, 'o2', T + 20)), [b]);
      assert.equal((await getDelivery(store, acct, b!)).attempts, 1, 'the attempt count carries on');
    });

    // (an in-memory store has no storage to open again)
    if (!backend.name.includes('memory')) test('deliveries: a store opened afresh finds exactly the unsettled ones', async () => {
      const T = epoch();
      const acct = await newAccount(store);
      // a: succeeded; b: failed, retry due later; c: dead; d: succeeded, then retried by hand;
      // e: never claimed (due later); f, g: two events of one call, f succeeded, g not yet due.
      const { ids: [a, b, c, d, e] } = await enqueue(store, acct, T, [
        { seq: 1, key: 'fr_a' }, { seq: 1, key: 'fr_b' }, { seq: 1, key: 'fr_c' }, { seq: 1, key: 'fr_d' }, { seq: 1, key: 'fr_e', next: T + 1_000 },
      ]);
      const { ids: [f, g] } = await enqueue(store, acct, T, [{ seq: 1, key: 'fr_f' }, { seq: 2, key: 'fr_f', next: T + 1_000 }]);
      const got = new Map((await claim(store, 'o1', T, { limit: 1_000 })).map((x) => [x.id, x]));
      assert.deepEqual(sorted([...got.keys()].filter((id) => [a, b, c, d, e, f, g].includes(id))), sorted([a!, b!, c!, d!, f!]));
      await store.recordAttempts([
        result('o1', got.get(a!)!, 'succeeded', T + 5), result('o1', got.get(b!)!, 'pending', T + 5, { next: T + 100 }),
        result('o1', got.get(c!)!, 'dead', T + 5), result('o1', got.get(d!)!, 'succeeded', T + 5), result('o1', got.get(f!)!, 'succeeded', T + 5),
      ], T + 5);
      assert.equal(await store.retryDelivery(acct, d!, T + 10), true);
      // What the first store settled is durable: a second one (another process after a restart,
      // on SQLite) rebuilds its queue from the stored rows alone.
      // (cleanup closes it)
      const fresh = h.another!();
      await fresh.migrate();
      const mine = new Set([a, b, c, d, e, f, g]);
      const due = (await claim(fresh, 'o2', T + 2_000, { limit: 1_000 })).filter((x) => mine.has(x.id));
      assert.deepEqual(sorted(ids(due)), sorted([b!, d!, e!, g!]));
      assert.equal(due.find((x) => x.id === b)!.attempts, 1);
    });



    if (backend.shared) {
      test('a schema with a name of the longest length still writes, and its LISTEN hears the writes', async () => {
        const p = pgStore(`hl_long_${'x'.repeat(37)}`);
        try {
          assert.equal(p.schema.length, 63);
          await p.store.migrate();
          const other = p.another();
          let woken = 0;
          await other.listen!(() => woken++);
          const before = woken;
          const acct = await newAccount(p.store);
          const call = makeCall(acct);
          assert.equal(await p.store.writeCall({ call, expected_version: null, events: [], timer_due_at: 1, deliveries: [makeDelivery(call, { seq: 1 }, 1)] }), 'written');
          await waitFor(() => woken > before, 5000, 'a notification on the other store');
        } finally {
          await p.cleanup();
        }
      });

      test('two owners claiming timers at once never get the same call', async () => {
        const T = epoch();
        const acct = await newAccount(store);
        const callIds = new Set<string>();
        for (let i = 0; i < 100; i++) {
          const call = makeCall(acct);
          assert.equal(await store.writeCall({ call, expected_version: null, events: [], timer_due_at: T + (i % 10), deliveries: [] }), 'written');
          callIds.add(call.id);
        }
        const stores = [store, h.another!()];
        const claimedBy = new Map<string, string>();
        const take = async (i: number): Promise<number> => {
          const owner = `timer_owner_${i % 2}`;
          const got = await stores[i % 2]!.claimTimers(owner, T + 10, T + 60_000, 7);
          for (const c of got) {
            assert.equal(claimedBy.get(c.call_id), undefined, `timer of ${c.call_id} claimed by ${claimedBy.get(c.call_id)} and ${owner}`);
            claimedBy.set(c.call_id, owner);
          }
          return got.length;
        };
        await Promise.all(Array.from({ length: 30 }, (_, i) => take(i)));
        // Then until nothing is left, still two at a time.
        for (let i = 0; ; i += 2) {
          const [a, b] = await Promise.all([take(i), take(i + 1)]);
          if (a + b === 0) break;
        }
        assert.deepEqual([...claimedBy.keys()].sort(), [...callIds].sort());
      });

      test('two owners claiming at once never get the same delivery, and per-call order holds', async () => {
        const T = epoch();
        const acct = await newAccount(store);
        const stores = [store, h.another!()];
        const owners = ['owner_a', 'owner_b'];
        // 60 calls × 3 events over 4 order keys: 180 deliveries, 60 of them claimable at first.
        const seqOf = new Map<string, { call: string; key: string; seq: number }>();
        for (let i = 0; i < 60; i++) {
          const key = `conc_${i % 4}`;
          const { call, ids: got } = await enqueue(store, acct, T, [1, 2, 3].map((seq) => ({ seq, key })));
          got.forEach((id, j) => seqOf.set(id, { call: call.id, key, seq: j + 1 }));
        }
        const total = seqOf.size;

        // Round 1: forty claims at once, twenty from each store/owner, nothing settled.
        const rounds = await Promise.all(Array.from({ length: 40 }, (_, i) => claim(stores[i % 2]!, owners[i % 2]!, T + 1, { limit: 5 })
          .then((ds) => ds.map((d) => ({ owner: owners[i % 2]!, d })))));
        const first = rounds.flat();
        const seen = new Map<string, string>();
        for (const { owner, d } of first) {
          assert.equal(seen.get(d.id), undefined, `delivery ${d.id} claimed twice (${seen.get(d.id)} and ${owner})`);
          seen.set(d.id, owner);
          assert.equal(d.locked_by, owner);
          assert.equal(seqOf.get(d.id)?.seq, 1, 'only first events are claimable while nothing is settled');
        }
        assert.ok(first.length > 0);

        // Round 2: both owners work through everything at once, claiming and settling; a later
        // event may be claimed only once the earlier one's settle has been sent.
        const settleSent = new Set<string>();
        const claimedBy = new Map<string, string>(seen);
        const held: Record<string, Claimed[]> = { owner_a: [], owner_b: [] };
        for (const { owner, d } of first) held[owner]!.push(d);
        const earlier = new Map<string, string>();
        for (const [id, s] of seqOf) if (s.seq > 1) earlier.set(id, [...seqOf].find(([, t]) => t.call === s.call && t.seq === s.seq - 1)![0]);
        const deadline = Date.now() + 60_000;
        let failed = false;
        const worker = async (i: number): Promise<void> => {
          try {
            await work(i);
          } catch (err) {
            failed = true;
            throw err;
          }
        };
        const work = async (i: number): Promise<void> => {
          const owner = owners[i]!;
          let now = T + 2;
          while (!failed && settleSent.size < total) {
            assert.ok(Date.now() < deadline, `stuck: ${settleSent.size} of ${total} settled`);
            const mine = held[owner]!.splice(0);
            if (mine.length > 0) {
              for (const d of mine) settleSent.add(d.id);
              await stores[i]!.recordAttempts(mine.map((d) => result(owner, d, 'succeeded', now)), now);
            }
            const got = await claim(stores[i]!, owner, ++now, { limit: 7 });
            for (const d of got) {
              assert.equal(claimedBy.get(d.id), undefined, `delivery ${d.id} claimed by ${claimedBy.get(d.id)} and again by ${owner}`);
              claimedBy.set(d.id, owner);
              const prev = earlier.get(d.id);
              if (prev !== undefined) assert.ok(settleSent.has(prev), `seq ${seqOf.get(d.id)!.seq} claimed before seq ${seqOf.get(d.id)!.seq - 1} was settled`);
            }
            held[owner]!.push(...got);
            if (got.length === 0 && mine.length === 0) await new Promise((r) => setImmediate(r));
          }
        };
        await Promise.all([worker(0), worker(1)]);
        assert.equal(claimedBy.size, total, 'every delivery was claimed exactly once');
        const byOwner = [...claimedBy.values()];
        assert.ok(byOwner.includes('owner_a') && byOwner.includes('owner_b'), 'both owners took part');
        const rows = await store.listDeliveries(acct, {}, 1000, null);
        assert.equal(rows.length, total);
        for (const row of rows) {
          assert.equal(row.status, 'succeeded', `${row.id} is ${row.status}`);
          assert.equal(row.attempts, 1, `${row.id} was attempted ${row.attempts} times`);
        }
      });
    }
  });
}
