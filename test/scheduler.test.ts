/**
 * The SQLite store's in-memory queue (src/store/sqlite/scheduler.ts) against a reference that
 * does the same by brute force (sorting every due entry on every claim): random adds, claims
 * (with and without chains of followers), results, releases, retries and lease expiries,
 * compared after every step (each entry, the next due time, and the counts by state). The scheduler's
 * indexed heaps and one-entry lines are what keep a 100,000 backlog small; this is what says
 * they still claim exactly what the simple rules say.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Scheduler } from '../src/store/sqlite/scheduler.ts';

interface R { id: string; key: string; call: string; seq: number; next_at: number; attempts: number; state: 'queued' | 'pending' | 'delivering'; owner: string | null; lease: number | null }

/** The rules, stated plainly: one array per line, a sort per claim. */
class Reference {
  readonly lines = new Map<string, R[]>();
  readonly byId = new Map<string, R>();
  add(id: string, key: string, call: string, seq: number, at: number): void {
    if (this.byId.has(id)) return;
    const lk = `${key}\u0000${call}`;
    const line = this.lines.get(lk) ?? [];
    this.lines.set(lk, line);
    const e: R = { id, key, call, seq, next_at: at, attempts: 0, state: 'queued', owner: null, lease: null };
    let i = line.length;
    while (i > 0 && line[i - 1]!.seq > seq && line[i - 1]!.state === 'queued') i -= 1;
    line.splice(i, 0, e);
    this.byId.set(id, e);
    if (i === 0) {
      if (line[1]?.state === 'pending') line[1].state = 'queued';
      this.pend(e, at);
    }
  }
  pend(e: R, at: number): void {
    Object.assign(e, { state: 'pending', owner: null, lease: null, next_at: at });
  }
  counts(now: number): { queued: number; pending: number; delivering: number; oldest_due_at: number | null } {
    const c = { queued: 0, pending: 0, delivering: 0, oldest_due_at: null as number | null };
    for (const e of this.byId.values()) {
      // a chain's follower (leased, not first in its line) is counted as waiting, as the log shows it
      c[e.state === 'delivering' && !this.first(e) ? 'queued' : e.state] += 1;
      if (e.state === 'pending' && e.next_at <= now && (c.oldest_due_at === null || e.next_at < c.oldest_due_at)) c.oldest_due_at = e.next_at;
    }
    return c;
  }
  first(e: R): boolean {
    return this.lines.get(`${e.key}\u0000${e.call}`)![0] === e;
  }
  /** a leased entry given up: due if it heads its line, else waiting behind it */
  handBack(e: R, at: number): void {
    if (this.first(e)) this.pend(e, at);
    else Object.assign(e, { state: 'queued', owner: null, lease: null });
  }
  claim(owner: string, now: number, until: number, limit: number, free: Map<string, number>, fallback: number, reap: boolean, followers: number): string[] {
    if (reap) for (const e of this.byId.values()) if (e.state === 'delivering' && e.lease! <= now) this.handBack(e, now);
    if (limit <= 0) return [];
    const byKey = new Map<string, R[]>();
    for (const e of this.byId.values()) if (e.state === 'pending' && e.next_at <= now) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
    const cmp = (a: R, b: R) => a.next_at - b.next_at || (a.id < b.id ? -1 : 1);
    const picks: { e: R; rank: number }[] = [];
    for (const [key, es] of byKey) es.sort(cmp).slice(0, Math.min(limit, free.get(key) ?? fallback)).forEach((e, rank) => picks.push({ e, rank }));
    picks.sort((a, b) => a.rank - b.rank || cmp(a.e, b.e));
    const chosen = picks.slice(0, limit).map((p) => p.e);
    for (const e of chosen) Object.assign(e, { state: 'delivering', owner, lease: until });
    const heads = chosen.sort(cmp);
    const out = heads.map((e) => e.id);
    // a chain: each head's line's waiting entries right behind it, after all the heads
    for (const h of heads) {
      const line = this.lines.get(`${h.key}\u0000${h.call}`)!;
      if (line[0] !== h) continue;
      for (let k = 1; k <= followers && k < line.length && line[k]!.state === 'queued'; k++) {
        Object.assign(line[k]!, { state: 'delivering', owner, lease: until });
        out.push(line[k]!.id);
      }
    }
    return out;
  }
  settle(id: string, owner: string, status: 'succeeded' | 'pending' | 'dead', at: number, attempt: number, now: number): void {
    const e = this.byId.get(id);
    if (!e || e.state !== 'delivering' || e.owner !== owner) return;
    if (status === 'pending') {
      e.attempts = Math.max(e.attempts, attempt);
      return this.pend(e, at);
    }
    const lk = `${e.key}\u0000${e.call}`;
    const line = this.lines.get(lk)!;
    line.splice(line.indexOf(e), 1);
    if (line.length === 0) this.lines.delete(lk);
    this.byId.delete(id);
    if (line[0]?.state === 'queued') this.pend(line[0], now);
  }
  release(owner: string, ids?: string[]): void {
    for (const e of this.byId.values()) if (e.state === 'delivering' && e.owner === owner && (!ids || ids.includes(e.id))) this.handBack(e, e.next_at);
  }
  retry(id: string, now: number): boolean {
    const e = this.byId.get(id);
    if (!e) return true;
    if (e.state !== 'pending') return false;
    this.pend(e, now);
    return true;
  }
  /** per target its earliest pending entry (none while one is due: a claim comes first), and every lease's end */
  nextDue(now: number): number | null {
    const first = new Map<string, number>();
    for (const e of this.byId.values()) if (e.state === 'pending') first.set(e.key, Math.min(first.get(e.key) ?? Infinity, e.next_at));
    const leases = [...this.byId.values()].flatMap((e) => (e.state === 'delivering' ? [e.lease!] : []));
    const ts = [...first.values(), ...leases].filter((t) => t > now);
    return ts.length ? Math.min(...ts) : null;
  }
}

/** a small deterministic generator, so a failure can be replayed from its seed */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s % n;
  };
}

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`scheduler: claims as the brute-force rules do (seed ${seed}, 3,000 random steps)`, () => {
    const r = rng(seed);
    const s = new Scheduler();
    const ref = new Reference();
    const keys = ['ep_a', 'ep_b', 'ep_c'];
    const owners = ['w1', 'w2'];
    let now = 1_000;
    let n = 0;
    for (let step = 0; step < 3000; step++) {
      const op = r(10);
      now += r(3) * 10;
      if (op < 4) {
        const id = `d${String(n++).padStart(5, '0')}`;
        const key = keys[r(keys.length)]!;
        const call = `c${r(12)}`;
        const seq = r(6);
        const at = now - 20 + r(60);
        s.add({ id, order_key: key, call_id: call, event_seq: seq, next_attempt_at: at });
        ref.add(id, key, call, seq, at);
      } else if (op < 7) {
        const owner = owners[r(2)]!;
        const limit = r(6);
        const free = new Map(keys.filter(() => r(2) === 0).map((k) => [k, r(4)] as const));
        const fallback = 1 + r(3);
        const reap = r(3) === 0;
        const until = now + 30 + r(50);
        const followers = r(3) === 0 ? 0 : r(4);
        const got = s.claim(owner, now, until, limit, { free, fallback }, reap, followers).map((e) => e.id);
        assert.deepEqual(got, ref.claim(owner, now, until, limit, free, fallback, reap, followers), `claim at step ${step}`);
      } else if (op < 9) {
        // a result comes for the first of its line (a chain's follower is sent once those before it settled)
        const delivering = [...ref.byId.values()].filter((e) => e.state === 'delivering' && ref.first(e));
        const e = delivering[r(delivering.length + 1)];
        if (!e) continue;
        const status = (['succeeded', 'pending', 'dead'] as const)[r(3)]!;
        const owner = r(5) === 0 ? 'w3' : e.owner!;
        const at = now + r(40);
        const attempt = 1 + r(3);
        s.settle({ id: e.id, owner, status, next_at: at, attempt }, now);
        ref.settle(e.id, owner, status, at, attempt, now);
      } else if (r(2) === 0) {
        const owner = owners[r(2)]!;
        const ids = r(2) === 0 ? undefined : [...ref.byId.keys()].filter(() => r(3) === 0);
        s.release(owner, ids);
        ref.release(owner, ids);
      } else {
        const ids = [...ref.byId.keys()];
        const id = ids[r(ids.length + 1)] ?? 'd_missing';
        assert.equal(s.retry(id, now), ref.retry(id, now), `retry at step ${step}`);
      }
      assert.equal(s.size, ref.byId.size);
      for (const e of ref.byId.values()) {
        const got = s.get(e.id)!;
        assert.deepEqual([got.state, got.owner, got.lease_until, got.attempts, got.state === 'queued' ? 0 : got.next_at], [e.state, e.owner, e.lease, e.attempts, e.state === 'queued' ? 0 : e.next_at], `${e.id} at step ${step}`);
      }
      assert.equal(s.nextDue(now), ref.nextDue(now), `nextDue at step ${step}`);
      assert.deepEqual(s.counts(now), ref.counts(now), `counts at step ${step}`);
    }
  });
}

for (const seed of [11, 12, 13]) {
  test(`scheduler: a rebuild from rows in any order makes the queue a sorted one makes (seed ${seed})`, () => {
    const r = rng(seed);
    const rows = Array.from({ length: 400 }, (_, n) => ({
      id: `d${String(n).padStart(5, '0')}`, order_key: `ep_${'abc'[r(3)]}`, call_id: `c${r(40)}`, event_seq: r(50), next_attempt_at: 1_000 + r(100),
    }));
    // distinct seqs within a line, as the rows of one call and target are
    const seen = new Set<string>();
    const unique = rows.filter((d) => {
      const k = `${d.order_key}/${d.call_id}/${d.event_seq}`;
      return !seen.has(k) && seen.add(k);
    });
    const sorted = [...unique].sort((a, b) => (a.order_key < b.order_key ? -1 : a.order_key > b.order_key ? 1 : a.call_id < b.call_id ? -1 : a.call_id > b.call_id ? 1 : a.event_seq - b.event_seq));
    const shuffled = [...unique];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = r(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const a = new Scheduler();
    for (const d of sorted) a.add(d, true);
    const b = new Scheduler();
    for (const d of shuffled) b.add(d, true);
    const state = (s: Scheduler) => unique.map((d) => [d.id, s.get(d.id)!.state, s.get(d.id)!.state === 'pending' ? s.get(d.id)!.next_at : 0]);
    assert.deepEqual(state(b), state(a));
    // each line offers its lowest seq only
    for (const d of unique) {
      const first = Math.min(...unique.filter((x) => x.order_key === d.order_key && x.call_id === d.call_id).map((x) => x.event_seq));
      assert.equal(b.get(d.id)!.state, d.event_seq === first ? 'pending' : 'queued', d.id);
    }
    // and claims then drain them in the same order
    const drain = (s: Scheduler) => {
      const out: string[] = [];
      for (let now = 2_000; s.size > 0; now += 1) {
        const got = s.claim('w', now, now + 100, 10, { free: new Map(), fallback: 10 }, false);
        for (const e of got) s.settle({ id: e.id, owner: 'w', status: 'succeeded', next_at: now, attempt: 1 }, now);
        out.push(...got.map((e) => e.id));
      }
      return out;
    };
    assert.deepEqual(drain(b), drain(a));
  });
}
