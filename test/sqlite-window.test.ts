/**
 * Issue 10 item 5, on the real SQLite store: a target's deliveries past its window (scheduler.ts
 * Windows; small here) wait in the database only, through a failure, a restart and a manual
 * retry, and come back whole, in each call's order, each delivered once, when the target recovers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AttemptResult, Claimed, NewDelivery } from '../src/store/contract.ts';
import { packOffers } from '../src/store/sqlite/packed-offers.ts';
import { SqliteStore } from '../src/store/sqlite/store.ts';
import { enqueue, epoch, makeCall, makeDelivery, makeEvent, newAccount, result } from './store-harness.ts';
import { tempDir } from './helpers.ts';

const W = { healthy: 40, failing: 10, refillGapMs: 0 };
const slots = { free: new Map<string, number>(), fallback: 1000 };

test('sqlite: a backlog past its window waits in the database and comes back whole, in order, once', async () => {
  const tmp = tempDir('hookline-window-');
  let store = new SqliteStore(tmp.dir, { windows: W });
  try {
    await store.migrate();
    const T = epoch();
    await store.recoverLeases();
    const acct = await newAccount(store);
    const calls: string[][] = [];
    for (let c = 0; c < 30; c++) calls.push((await enqueue(store, acct, T, [1, 2, 3].map((seq) => ({ seq, key: 'w_dead' })))).ids);
    const total = async (now: number): Promise<number> => {
      const d = (await store.stats(now)).deliveries;
      return d.queued! + d.pending! + d.delivering!;
    };
    const claimAt = (now: number, settle: AttemptResult[] = [], limit = 1000): Promise<Claimed[]> =>
      store.claimDeliveries('o', now, now + 60_000, limit, slots, settle);

    // healthy so far: whole calls up to 40 entries are held, 14 calls' first events are due
    const first = await claimAt(T, [], 1);
    assert.deepEqual(first.map((d) => d.id), [calls[0]![0]]);
    const rest = await claimAt(T);
    assert.equal(rest.length, 13);
    await store.releaseDeliveries('o', T, rest.map((d) => d.id));
    // three failures in a row: the newest calls go back to the database, down to the failing window
    let d = first[0]!;
    for (let i = 0; i < 3; i++) {
      if (i > 0) d = (await claimAt(T + i, [], 1))[0]!;
      assert.equal(d.id, calls[0]![0]);
      // due again before every other delivery: the next claim of one takes it
      await store.recordAttempts([result('o', d, 'pending', T + i, { next: T - 100 + i })], T + i);
    }
    assert.equal((await claimAt(T + 5)).length, 3, 'calls 0–2 held (9 entries), the rest in the database');
    assert.equal(await total(T + 5), 90, 'the counts include what waits in the database');
    await store.releaseDeliveries('o', T + 5);

    // a restart: nothing is known of the target, it is held to the failing window
    await store.close();
    store = new SqliteStore(tmp.dir, { windows: W });
    await store.recoverLeases();
    assert.equal((await claimAt(T + 10)).length, 4, 'calls 0–3 held (12 entries)');
    await store.releaseDeliveries('o', T + 10);
    // a manual retry of a delivery that waits in the database: its call is read back, due now
    assert.equal(await store.retryDelivery(acct, calls[29]![0]!, T + 10), true);
    assert.equal(await store.retryDelivery(acct, calls[28]![1]!, T + 10), false, 'the second event waits behind the first');
    const retried = await claimAt(T + 10);
    assert.ok(retried.some((d) => d.id === calls[29]![0]), 'the retried delivery is claimed at once');
    await store.releaseDeliveries('o', T + 10);

    // the target recovers: every delivery once, each call's events in order
    const done = new Set<string>();
    const seqOf = new Map(calls.flatMap((ids) => ids.map((id, i) => [id, i] as const)));
    let now = T + 20;
    let settle: AttemptResult[] = [];
    for (let round = 0; round < 200 && done.size < 90; round++) {
      const got = await claimAt(now, settle);
      settle = [];
      for (const d of got) {
        assert.ok(!done.has(d.id), `${d.id} delivered twice`);
        const line = calls.find((ids) => ids.includes(d.id))!;
        for (const earlier of line.slice(0, seqOf.get(d.id))) assert.ok(done.has(earlier), `${d.id} claimed before ${earlier} of its call`);
        done.add(d.id);
        settle.push(result('o', d, 'succeeded', now));
      }
      now += 1;
    }
    await store.recordAttempts(settle, now);
    assert.equal(done.size, 90);
    assert.equal(await total(now), 0);
  } finally {
    await store.close();
    tmp.remove();
  }
});

test('sqlite split mode: past the window, rows come back once their offers cannot be on the way; each once, in order, bodies intact', async () => {
  const tmp = tempDir('hookline-window-fed-');
  // the API thread's store writes; the delivery thread's is fed what it committed (split.ts)
  const writer = new SqliteStore(tmp.dir);
  const fed = new SqliteStore(tmp.dir, { queue: 'fed', windows: { healthy: 6, failing: 3, refillGapMs: 0 } });
  try {
    await writer.migrate();
    const T = epoch();
    await fed.recoverLeases();
    const acct = await newAccount(writer);
    const lines: NewDelivery[][] = [];
    const write = async (c: number, at: number): Promise<NewDelivery[]> => {
      const call = makeCall(acct, { last_seq: 3 });
      const ds = [1, 2, 3].map((seq) => ({ ...makeDelivery(call, { seq, key: 'w_fed' }, at), request: { method: 'POST', url: 'https://receiver.example/hook', headers: { 'content-type': 'application/json' }, body: `{"call":${c},"seq":${seq}}` } }));
      assert.equal(await writer.writeCall({ call, expected_version: null, events: [1, 2, 3].map((s) => makeEvent(call, s)), timer_due_at: null, deliveries: ds }), 'written');
      lines.push(ds);
      return ds;
    };
    for (let c = 0; c < 5; c++) await write(c, T);
    fed.offer(packOffers(lines.flat()).packed);
    const body = (d: Claimed): string => Buffer.from(d.request.body as string | Uint8Array).toString();
    const done = new Map<string, string>();
    const deliver = async (now: number, got: Claimed[]): Promise<Claimed[]> => {
      const settle: AttemptResult[] = [];
      for (const d of got) {
        assert.ok(!done.has(d.id), `${d.id} delivered twice`);
        const line = lines.find((ds) => ds.some((x) => x.id === d.id))!;
        for (const earlier of line.filter((x) => x.event_seq < d.event_seq)) assert.ok(done.has(earlier.id), `${d.id} before ${earlier.id} of its call`);
        done.set(d.id, body(d));
        settle.push(result('o', d, 'succeeded', now));
      }
      return fed.claimDeliveries('o', now + 1, now + 60_000, 100, slots, settle, 15);
    };
    const first = await fed.claimDeliveries('o', T, T + 60_000, 100, slots, [], 15);
    assert.equal(first.length, 6, 'two whole calls held (6 entries), chained');
    // A sixth call is committed now; its offer is still on its way when the next claim reads the rows.
    const late = await write(5, T + 10);
    const next = await deliver(T + 10, first);
    assert.deepEqual(next, [], 'rows written under 2 s ago are left to their offers');
    fed.offer(packOffers(late).packed);
    // 2 s on, the rows come back (the late call's once, though its offer came after a refill)
    let got = await fed.claimDeliveries('o', T + 2_100, T + 60_000, 100, slots, [], 15);
    for (let round = 0; round < 20 && done.size < 18; round++) got = await deliver(T + 2_100 + round, got);
    assert.equal(done.size, 18);
    for (const [c, ds] of lines.entries()) for (const d of ds) assert.equal(done.get(d.id), `{"call":${c},"seq":${d.event_seq}}`);
  } finally {
    await fed.close();
    await writer.close();
    tmp.remove();
  }
});
