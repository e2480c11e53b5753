import type { NewDelivery, Slots } from '../contract.ts';

/**
 * The SQLite store's delivery queue, in memory. SQLite serves one process per data directory, so
 * that process alone decides what is sent when: claims, leases, per-call order ("queued" behind
 * an earlier event) and promotion live here, and the database keeps only what must survive a
 * crash — each delivery as 'pending' until it succeeds or dies, its attempts, its next time.
 *
 * Why: with claims in SQL, every delivery cost four writes beyond its insert (claim, settle,
 * promotion of the next event, and the index churn of each), about 60 % of Hookline's CPU at
 * full speed (issue 10 profile). After a crash nothing is lost: every unsettled delivery is
 * still 'pending' in the database, and `load` rebuilds this queue from it at start (those in
 * flight at the crash are sent again: at least once, the same webhook-id).
 *
 * The contract's semantics are kept exactly: a lease expires and is taken over, a late result
 * from an owner that lost its lease changes nothing, a full target is never walked.
 */
export type EntryState = 'queued' | 'pending' | 'delivering';

export interface Entry {
  id: string;
  order_key: string;
  call_id: string;
  seq: number;
  next_at: number;
  /** attempts made as far as the queue knows (the row's count may not be committed yet) */
  attempts: number;
  state: EntryState;
  owner: string | null;
  lease_until: number | null;
  /** bumped whenever the entry is (re)queued, so older heap nodes of it are ignored */
  version: number;
}

interface Node {
  at: number;
  id: string;
  entry: Entry;
  version: number;
}

/** A binary min-heap of due times; stale nodes are skipped when they surface. */
class Heap {
  readonly #a: Node[] = [];
  get size(): number {
    return this.#a.length;
  }
  peek(): Node | undefined {
    return this.#a[0];
  }
  push(n: Node): void {
    const a = this.#a;
    a.push(n);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): Node | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

const less = (x: Node, y: Node): boolean => x.at < y.at || (x.at === y.at && x.id < y.id);
const live = (n: Node): boolean => n.entry.state === 'pending' && n.entry.version === n.version;

export interface Settlement {
  id: string;
  owner: string;
  status: 'succeeded' | 'pending' | 'dead';
  next_at: number;
  /** the attempt this result is of */
  attempt: number;
}

export class Scheduler {
  readonly #byId = new Map<string, Entry>();
  /**
   * each call's line per target (order key, then call), in seq order: only the first may be
   * pending or delivering. Two levels rather than one joined key: a key string per entry cost
   * ~90 of the ~480 bytes an entry took (a 100,000-delivery backlog is held here whole).
   */
  readonly #lines = new Map<string, { key: string; calls: Map<string, Entry[]> }>();
  /** per target, its pending entries by due time */
  readonly #due = new Map<string, Heap>();
  readonly #delivering = new Set<Entry>();

  get size(): number {
    return this.#byId.size;
  }

  /** An unsettled delivery, at enqueue or when the queue is rebuilt; it waits behind its call's earlier events. */
  add(d: Pick<NewDelivery, 'id' | 'order_key' | 'call_id' | 'event_seq' | 'next_attempt_at'>): void {
    if (this.#byId.has(d.id)) return;
    let target = this.#lines.get(d.order_key);
    if (!target) {
      target = { key: d.order_key, calls: new Map() };
      this.#lines.set(d.order_key, target);
    }
    let line = target.calls.get(d.call_id);
    if (!line) {
      line = [];
      target.calls.set(d.call_id, line);
    }
    // The order key string the target's first entry brought: one per target, not one per entry.
    const e: Entry = { id: d.id, order_key: target.key, call_id: d.call_id, seq: d.event_seq, next_at: d.next_attempt_at, attempts: 0, state: 'queued', owner: null, lease_until: null, version: 0 };
    // Appended in seq order; never ahead of an entry already under way.
    let i = line.length;
    while (i > 0 && line[i - 1]!.seq > e.seq && line[i - 1]!.state === 'queued') i -= 1;
    line.splice(i, 0, e);
    this.#byId.set(e.id, e);
    if (i === 0) {
      if (line[1]?.state === 'pending') this.#demote(line[1]);
      this.#makePending(e, e.next_at);
    }
  }

  get(id: string): Entry | undefined {
    return this.#byId.get(id);
  }

  /** Up to `limit` due entries, round-robin over targets with free slots; leased to `owner`. */
  claim(owner: string, now: number, leaseUntil: number, limit: number, slots: Slots, reap: boolean): Entry[] {
    if (reap) {
      for (const e of [...this.#delivering]) if (e.lease_until !== null && e.lease_until <= now) this.#makePending(e, now);
    }
    if (limit <= 0) return [];
    const picks: { e: Entry; rank: number }[] = [];
    const spare: Node[] = [];
    for (const [key, heap] of this.#due) {
      const cap = Math.min(limit, slots.free.get(key) ?? slots.fallback);
      let rank = 0;
      while (rank < cap) {
        const top = heap.peek();
        if (!top || top.at > now) break;
        heap.pop();
        if (!live(top)) continue;
        picks.push({ e: top.entry, rank: rank++ });
        spare.push(top);
      }
      if (heap.size === 0) this.#due.delete(key);
    }
    picks.sort((a, b) => a.rank - b.rank || a.e.next_at - b.e.next_at || (a.e.id < b.e.id ? -1 : 1));
    const chosen = picks.slice(0, limit).map((p) => p.e);
    const taken = new Set(chosen);
    // What round-robin left over goes back in line, as it was.
    for (const n of spare) if (!taken.has(n.entry)) this.#heap(n.entry.order_key).push(n);
    for (const e of chosen) {
      e.state = 'delivering';
      e.owner = owner;
      e.lease_until = leaseUntil;
      this.#delivering.add(e);
    }
    return chosen.sort((a, b) => a.next_at - b.next_at || (a.id < b.id ? -1 : 1));
  }

  /** Whether `owner` still holds the entry (the owner guard for a result). */
  holds(id: string, owner: string): boolean {
    const e = this.#byId.get(id);
    return e !== undefined && e.state === 'delivering' && e.owner === owner;
  }

  /** A result of the lease holder: retry later, or done — and the call's next event is due. */
  settle(s: Settlement, now: number): void {
    const e = this.#byId.get(s.id);
    if (!e || e.state !== 'delivering' || e.owner !== s.owner) return;
    if (s.status === 'pending') {
      e.attempts = Math.max(e.attempts, s.attempt);
      this.#makePending(e, s.next_at);
      return;
    }
    this.#remove(e);
    const next = this.#lines.get(e.order_key)?.calls.get(e.call_id)?.[0];
    if (next && next.state === 'queued') this.#makePending(next, now);
  }

  /** Hands leased entries back (all of `owner`'s, or only `ids`), due as they were. */
  release(owner: string, ids?: string[]): void {
    const only = ids ? new Set(ids) : null;
    for (const e of [...this.#delivering]) {
      if (e.owner === owner && (only === null || only.has(e.id))) this.#makePending(e, e.next_at);
    }
  }

  /** A manual retry: due now, unless it is under way or waits behind an earlier event. */
  retry(id: string, now: number): boolean {
    const e = this.#byId.get(id);
    if (!e) return true;
    if (e.state !== 'pending') return false;
    this.#makePending(e, now);
    return true;
  }

  /** The earliest time after `now` at which an entry falls due or a lease runs out. */
  nextDue(now: number): number | null {
    let next: number | null = null;
    const consider = (t: number): void => {
      if (t > now && (next === null || t < next)) next = t;
    };
    for (const heap of this.#due.values()) {
      const top = heap.peek();
      if (top) consider(top.at);
    }
    for (const e of this.#delivering) if (e.lease_until !== null) consider(e.lease_until);
    return next;
  }

  counts(now: number): { queued: number; pending: number; delivering: number; oldest_due_at: number | null } {
    const c = { queued: 0, pending: 0, delivering: 0, oldest_due_at: null as number | null };
    for (const e of this.#byId.values()) {
      c[e.state] += 1;
      if (e.state === 'pending' && e.next_at <= now && (c.oldest_due_at === null || e.next_at < c.oldest_due_at)) c.oldest_due_at = e.next_at;
    }
    return c;
  }

  /** ids under way now, for the delivery log's view of them */
  deliveringIds(): string[] {
    return [...this.#delivering].map((e) => e.id);
  }

  #heap(key: string): Heap {
    let h = this.#due.get(key);
    if (!h) {
      h = new Heap();
      this.#due.set(key, h);
    }
    return h;
  }

  #makePending(e: Entry, at: number): void {
    this.#delivering.delete(e);
    e.state = 'pending';
    e.owner = null;
    e.lease_until = null;
    e.next_at = at;
    e.version += 1;
    this.#heap(e.order_key).push({ at, id: e.id, entry: e, version: e.version });
  }

  #demote(e: Entry): void {
    e.state = 'queued';
    e.version += 1;
  }

  #remove(e: Entry): void {
    this.#delivering.delete(e);
    this.#byId.delete(e.id);
    e.version += 1;
    const target = this.#lines.get(e.order_key);
    const line = target?.calls.get(e.call_id);
    if (!target || !line) return;
    const i = line.indexOf(e);
    if (i >= 0) line.splice(i, 1);
    if (line.length === 0) target.calls.delete(e.call_id);
    if (target.calls.size === 0) this.#lines.delete(e.order_key);
  }
}
