/**
 * The SQLite queue's window (src/store/sqlite/scheduler.ts Windows): a target holds at most about
 * a window of deliveries in memory, the rest wait in the database and are read back when there is
 * room. Random adds, claims (with chains), results, their records, restarts and time, on small
 * windows, against a model of the database's open rows; after every step: no call's event is
 * claimed while an earlier one of the same call is open, no delivery is claimed after its success
 * was recorded, memory stays within the window, and the counts add up to the open rows. At the
 * end the target recovers and everything is delivered: nothing is left behind in the database.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RowKeys, Windows } from '../src/store/sqlite/entries.ts';
import { Scheduler } from '../src/store/sqlite/scheduler.ts';
import { prng } from './kill-loop.ts';

interface Row { id: string; key: string; call: string; seq: number; at: number; open: boolean }

const W: Windows = { healthy: 8, failing: 3, refillGapMs: 0, offerGraceMs: 0 };
const KEYS = ['t0', 't1', 't2'];
const MAX_CALL = 4;

function run(seed: number): void {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const rows = new Map<string, Row>();
  let nextId = 0;
  const calls: { key: string; call: string; seq: number }[] = [];
  let sched = new Scheduler({ windows: W });
  let now = 1_000;
  /** claimed and not yet answered */
  const out = new Map<string, string>();
  /** answered, not yet written to the rows */
  let unrecorded: { id: string; status: 'succeeded' | 'pending' | 'dead' }[] = [];
  const keys = (x: Row): RowKeys => ({ id: x.id, order_key: x.key, call_id: x.call, event_seq: x.seq, next_attempt_at: x.at, created_at: 0 });
  const openOf = (key: string): Row[] => [...rows.values()].filter((x) => x.open && x.key === key).sort((a, b) => (a.id < b.id ? -1 : 1));

  const refill = (): void => {
    for (const key of sched.refillsDue(now)) {
      sched.refill(key, now, openOf(key).map((x) => ({ id: x.id, call_id: x.call })), (call) => openOf(key).filter((x) => x.call === call).reverse().map(keys));
    }
  };
  const record = (): void => {
    for (const u of unrecorded) if (u.status !== 'pending') rows.get(u.id)!.open = false;
    sched.recorded(unrecorded.map((u) => u.id));
    unrecorded = [];
  };
  const claim = (followers: number, fail: number): void => {
    refill();
    const got = sched.claim('w', now, now + 10_000, 1 + Math.floor(r() * 6), { free: new Map(), fallback: 2 }, false, followers);
    const before = new Set<string>();
    const settledNow = new Set(unrecorded.filter((u) => u.status !== 'pending').map((u) => u.id));
    for (const e of got) {
      const row = rows.get(e.id)!;
      assert.ok(row.open && !settledNow.has(e.id), `seed ${seed}: ${e.id} claimed after its success`);
      for (const x of rows.values()) {
        if (x.key === row.key && x.call === row.call && x.seq < row.seq && x.open && !settledNow.has(x.id)) {
          assert.ok(before.has(x.id), `seed ${seed}: ${e.id} (seq ${row.seq}) claimed while seq ${x.seq} of its call is open`);
        }
      }
      before.add(e.id);
      out.set(e.id, row.key);
    }
    // answer some: a chain's follower only after its head succeeded, else it is handed back,
    // as the dispatcher does
    const blocked = new Set<string>();
    for (const e of got) {
      const line = `${e.order_key}/${e.call_id}`;
      if (blocked.has(line)) {
        if (out.has(e.id) && sched.get(e.id)?.owner === 'w' && e.state === 'delivering') sched.release('w', [e.id]);
        out.delete(e.id);
        continue;
      }
      if (r() < 0.3) {
        blocked.add(line);
        continue;
      }
      const status = r() < fail ? (r() < 0.8 ? 'pending' : 'dead') : 'succeeded';
      const at = now + Math.floor(r() * 50);
      if (status === 'pending') rows.get(e.id)!.at = at;
      if (status !== 'succeeded') blocked.add(line);
      sched.settle({ id: e.id, owner: 'w', status, next_at: at, attempt: 1 }, now);
      out.delete(e.id);
      unrecorded.push({ id: e.id, status });
    }
  };
  const check = (): void => {
    const per = new Map<string, number>();
    for (const x of rows.values()) if (sched.get(x.id)) per.set(x.key, (per.get(x.key) ?? 0) + 1);
    for (const [key, n] of per) assert.ok(n <= W.healthy + MAX_CALL + 12, `seed ${seed}: ${n} entries of ${key} in memory`);
    const c = sched.counts(now);
    const settled = new Set(unrecorded.filter((u) => u.status !== 'pending').map((u) => u.id));
    const open = [...rows.values()].filter((x) => x.open && !settled.has(x.id)).length;
    assert.equal(c.queued + c.pending + c.delivering, open, `seed ${seed}: counts`);
  };

  for (let step = 0; step < 400; step++) {
    const op = r();
    if (op < 0.35) {
      // an event: a new call, or the next of one (a call's events come in seq order)
      const c = calls.length > 0 && r() < 0.5 ? pick(calls) : undefined;
      const ev = c && c.seq < MAX_CALL ? c : { key: pick(KEYS), call: `c${calls.length}`, seq: 0 };
      if (ev !== c) calls.push(ev);
      ev.seq += 1;
      const row: Row = { id: `d${String(nextId++).padStart(6, '0')}`, key: ev.key, call: ev.call, seq: ev.seq, at: now, open: true };
      rows.set(row.id, row);
      sched.add(keys(row));
    } else if (op < 0.7) claim(r() < 0.5 ? 0 : 2, 0.6);
    else if (op < 0.85) record();
    else if (op < 0.97) now += Math.floor(r() * 30);
    else {
      // a restart: what was answered is recorded (a clean stop), leases are void, the queue is rebuilt
      record();
      out.clear();
      sched = new Scheduler({ windows: W });
      for (const x of [...rows.values()].filter((y) => y.open).sort(() => r() - 0.5)) sched.add(keys(x), true);
    }
    check();
  }
  // The targets recover: everything open is delivered, and nothing stays behind in the database.
  for (let round = 0; round < 10_000 && [...rows.values()].some((x) => x.open); round++) {
    now += 60;
    sched.release('w');
    out.clear();
    claim(2, 0);
    record();
    check();
  }
  assert.deepEqual([...rows.values()].filter((x) => x.open).map((x) => x.id), [], `seed ${seed}: left in the database`);
}

test('a windowed queue keeps each call in order, its memory bound and its counts, and leaves nothing behind', () => {
  for (let seed = 1; seed <= 300; seed++) run(seed);
});

test('a target whose deliveries fail three times in a row keeps only its failing window in memory; at start every target does', () => {
  const add = (s: Scheduler, i: number, rebuild = false): boolean =>
    s.add({ id: `d${String(i).padStart(4, '0')}`, order_key: 't', call_id: `c${Math.floor(i / 2)}`, event_seq: (i % 2) + 1, next_attempt_at: 0 }, rebuild);
  const held = (s: Scheduler): number => s.counts(0).queued + s.counts(0).pending + s.counts(0).delivering - spilled(s);
  const spilled = (s: Scheduler): number => s.counts(0).pending - [...Array(200).keys()].filter((i) => s.get(`d${String(i).padStart(4, '0')}`)?.state === 'pending').length;

  const s = new Scheduler({ windows: W });
  // healthy (nothing known yet, running): whole calls up to 8 entries, the rest in the database
  const kept = Array.from({ length: 200 }, (_, i) => add(s, i)).filter(Boolean).length;
  assert.equal(kept, 8);
  assert.equal(s.size, 8);
  assert.equal(spilled(s), 192);
  // failures: after three in a row the newest whole calls not under way go back, down to 3 (a
  // call of 2 may pass it by 1)
  const [first] = s.claim('w', 0, 1_000, 1, { free: new Map(), fallback: 1 }, false);
  for (let attempt = 1; attempt <= 3; attempt++) {
    if (attempt > 1) assert.deepEqual(s.claim('w', attempt, 1_000, 1, { free: new Map(), fallback: 1 }, false).map((e) => e.id), [first!.id]);
    assert.equal(s.size, 8, `still the healthy window before failure ${attempt}`);
    // due before every other (all due at 0): the next claim of one takes it again
    s.settle({ id: first!.id, owner: 'w', status: 'pending', next_at: -attempt, attempt }, attempt);
  }
  assert.ok(s.size <= 4, `${s.size} held after three failures in a row`);
  assert.equal(held(s) + spilled(s), 200, 'counted whether held or not');
  // a failing target at its window is not read back; after a success it is (the healthy window)
  assert.deepEqual(s.refillsDue(10), []);
  const again = s.claim('w', 10, 1_000, 1, { free: new Map(), fallback: 1 }, false);
  assert.deepEqual(again.map((e) => e.id), [first!.id]);
  s.settle({ id: first!.id, owner: 'w', status: 'succeeded', next_at: 10, attempt: 4 }, 10);
  assert.deepEqual(s.refillsDue(10), ['t']);

  const r = new Scheduler({ windows: W });
  for (let i = 199; i >= 0; i--) add(r, i, true);
  assert.ok(r.size <= W.failing + 1, `${r.size} held after a rebuild`);
});
