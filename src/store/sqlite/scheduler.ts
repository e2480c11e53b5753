import type { Slots } from '../contract.ts';
import { FAILS_TO_SHRINK, head, WINDOWS, type Entry, type EntryKeys, type EntryState, type RowKeys, type Settlement, type Target, type Windows } from './entries.ts';
import { QueueWindow } from './window.ts';
import { Heap } from './heap.ts';

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
 * from an owner that lost its lease changes nothing, a full target is never walked. Each target
 * holds up to its window (entries.ts Windows); past it, whole calls wait in the rows (`refill`).
 */
export class Scheduler {
  readonly #byId = new Map<string, Entry>();
  /**
   * each call's line per target (order key, then call), in seq order: only the first may be
   * pending; those after it wait ('queued'), or are under way behind it in a chain. Two levels
   * rather than one joined key: a key string per entry cost ~90 bytes (a dead target's window,
   * thousands of entries, is held here).
   */
  readonly #lines = new Map<string, Target>();
  /** what of each target is held in memory (window.ts) */
  readonly #w: QueueWindow;
  /** per target, its pending entries by due time */
  readonly #due = new Map<string, Heap>();
  readonly #delivering = new Set<Entry>();
  /**
   * How many entries are in each state, kept as they change: `counts` (every /metrics scrape)
   * walked every entry, 100,000 of them with a dead target's backlog, four times a second
   * under the bench's heap sampling.
   */
  readonly #n: Record<EntryState, number> = { queued: 0, pending: 0, delivering: 0 };

  /** `settling`: results a queue before this one applied and the database has not yet recorded */
  constructor(opts: { windows?: Partial<Windows>; onEvict?: (id: string) => void; settling?: Iterable<string> } = {}) {
    const host = { lines: this.#lines, has: (id: string) => this.#byId.has(id), insert: (t: Target, d: EntryKeys) => this.#insert(t, d, true), remove: (e: Entry) => this.#remove(e) };
    this.#w = new QueueWindow(host, { ...WINDOWS, ...opts.windows }, opts.onEvict, opts.settling);
  }

  get size(): number {
    return this.#byId.size;
  }

  /**
   * An unsettled delivery, at enqueue or when the queue is rebuilt; it waits behind its call's
   * earlier events. At enqueue (and a manual retry) it never goes ahead of the entry its line
   * already offers; `rebuild` (nothing is under way yet) puts it in seq order whatever came
   * first, so the rows may be read in any order (queue.ts loadQueue). False when it stays in the
   * database only (its target is at its window: Windows), to be read back by a refill.
   */
  add(d: EntryKeys, rebuild = false): boolean {
    if (this.#byId.has(d.id)) return true;
    if (this.#w.settling.has(d.id)) return false; // its result is applied; its row not yet updated
    let t = this.#lines.get(d.order_key);
    if (!t) {
      t = { key: d.order_key, calls: new Map(), n: 0, spilled: false, spilledN: 0, fails: rebuild ? FAILS_TO_SHRINK : 0, refilledAt: -Infinity };
      this.#lines.set(d.order_key, t);
    }
    if (this.#w.spills(t, d.call_id)) return false;
    this.#insert(t, d, rebuild);
    return true;
  }

  #insert(target: Target, d: EntryKeys, rebuild: boolean): void {
    const cur = target.calls.get(d.call_id);
    // The order key string the target's first entry brought, and the call id its call's first
    // entry brought: one string per target and per call, not one per entry (a row read from
    // SQLite makes a string of each; ~48 bytes an entry of a dead target's backlog).
    const callId = cur === undefined ? d.call_id : Array.isArray(cur) ? cur[0]!.call_id : cur.call_id;
    const e: Entry = { id: d.id, order_key: target.key, call_id: callId, seq: d.event_seq, next_at: d.next_attempt_at, attempts: 0, state: 'queued', owner: null, lease_until: null, pos: -1 };
    this.#byId.set(e.id, e);
    this.#n.queued += 1;
    target.n += 1;
    if (cur === undefined) {
      target.calls.set(d.call_id, e);
      this.#makePending(e, e.next_at);
      return;
    }
    let line: Entry[];
    if (Array.isArray(cur)) line = cur;
    else target.calls.set(d.call_id, (line = [cur]));
    // Appended in seq order; never ahead of an entry already offered, except in a rebuild.
    let i = line.length;
    while (i > 0 && line[i - 1]!.seq > e.seq && (line[i - 1]!.state === 'queued' || (rebuild && line[i - 1]!.state === 'pending'))) i -= 1;
    line.splice(i, 0, e);
    if (i === 0) {
      if (line[1]?.state === 'pending') this.#demote(line[1]);
      this.#makePending(e, e.next_at);
    }
  }

  get(id: string): Entry | undefined {
    return this.#byId.get(id);
  }

  /**
   * Up to `limit` due entries, round-robin over targets with free slots; leased to `owner`. With
   * each, up to `followers` of its line's waiting entries (a chain: store contract), leased
   * alike and answered after the heads; a chain takes one slot.
   */
  claim(owner: string, now: number, leaseUntil: number, limit: number, slots: Slots, reap: boolean, followers = 0): Entry[] {
    if (reap) {
      for (const e of [...this.#delivering]) if (e.lease_until !== null && e.lease_until <= now) this.#handBack(e, now);
    }
    if (limit <= 0) return [];
    const picks: { e: Entry; rank: number }[] = [];
    for (const [key, heap] of this.#due) {
      const cap = Math.min(limit, slots.free.get(key) ?? slots.fallback);
      let rank = 0;
      while (rank < cap) {
        const top = heap.peek();
        if (!top || top.next_at > now) break;
        heap.remove(top);
        picks.push({ e: top, rank: rank++ });
      }
      if (heap.size === 0) this.#due.delete(key);
    }
    picks.sort((a, b) => a.rank - b.rank || a.e.next_at - b.e.next_at || (a.e.id < b.e.id ? -1 : 1));
    // What round-robin left over goes back in line, as it was.
    for (let i = limit; i < picks.length; i++) this.#heap(picks[i]!.e.order_key).push(picks[i]!.e);
    const chosen = picks.slice(0, limit).map((p) => p.e);
    for (const e of chosen) this.#lease(e, owner, leaseUntil);
    chosen.sort((a, b) => a.next_at - b.next_at || (a.id < b.id ? -1 : 1));
    if (followers <= 0) return chosen;
    const n = chosen.length;
    for (let i = 0; i < n; i++) {
      const line = this.#lines.get(chosen[i]!.order_key)?.calls.get(chosen[i]!.call_id);
      if (!Array.isArray(line) || line[0] !== chosen[i]) continue;
      for (let k = 1; k <= followers && k < line.length && line[k]!.state === 'queued'; k++) {
        this.#lease(line[k]!, owner, leaseUntil);
        chosen.push(line[k]!);
      }
    }
    return chosen;
  }

  #lease(e: Entry, owner: string, leaseUntil: number): void {
    this.#to(e, 'delivering');
    e.owner = owner;
    e.lease_until = leaseUntil;
    this.#delivering.add(e);
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
    const t = this.#lines.get(e.order_key)!;
    const turnsFailing = this.#w.result(t, e.id, s.status === 'succeeded');
    if (s.status === 'pending') {
      e.attempts = Math.max(e.attempts, s.attempt);
      this.#makePending(e, s.next_at);
    } else {
      this.#remove(e);
      const next = head(t.calls.get(e.call_id));
      if (next && next.state === 'queued') this.#makePending(next, now);
    }
    if (turnsFailing) this.#w.trim(t);
  }

  // The window's (window.ts), for the store: results recorded, refills, a retry of a spilled one.
  recorded(ids: Iterable<string>): void {
    this.#w.recorded(ids);
  }

  unrecorded(): string[] {
    return this.#w.unrecorded();
  }

  refillsDue(now: number): readonly string[] {
    return this.#w.refillsDue(now);
  }

  refill(key: string, now: number, open: Iterable<{ id: string; call_id: string }>, call: (callId: string) => RowKeys[]): void {
    this.#w.refill(key, now, open, call);
  }

  spilled(orderKey: string, id: string): boolean {
    return this.#w.spilled(orderKey, id);
  }

  admitSpilled(orderKey: string, id: string, rows: RowKeys[], now: number): boolean {
    return this.#w.admitSpilled(orderKey, id, rows, now);
  }

  /** Hands leased entries back (all of `owner`'s, or only `ids`): heads due as they were, followers behind them. */
  release(owner: string, ids?: string[]): void {
    const only = ids ? new Set(ids) : null;
    for (const e of [...this.#delivering]) {
      if (e.owner === owner && (only === null || only.has(e.id))) this.#handBack(e, e.next_at);
    }
  }

  /**
   * A leased entry given up (released, or its lease ran out): due at `at` if it heads its line,
   * else (a chain's follower) waiting behind the one before it, as it was before the claim.
   */
  #handBack(e: Entry, at: number): void {
    if (head(this.#lines.get(e.order_key)?.calls.get(e.call_id)) === e) {
      this.#makePending(e, at);
      return;
    }
    this.#delivering.delete(e);
    e.owner = null;
    e.lease_until = null;
    this.#demote(e);
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
      if (top) consider(top.next_at);
    }
    for (const e of this.#delivering) if (e.lease_until !== null) consider(e.lease_until);
    const refill = this.#w.nextRefill(now);
    if (refill !== null) consider(refill);
    return next;
  }

  /**
   * The entries in each state, and the oldest due time of a pending one due by `now` (each
   * target's heap top). Deliveries spilled to the database count as pending, their rows' status.
   */
  counts(now: number): { queued: number; pending: number; delivering: number; oldest_due_at: number | null } {
    let oldest: number | null = null;
    for (const heap of this.#due.values()) {
      const top = heap.peek();
      if (top && top.next_at <= now && (oldest === null || top.next_at < oldest)) oldest = top.next_at;
    }
    // a chain's followers count as waiting (waitsBehind); at most a few thousand are leased
    let behind = 0;
    for (const e of this.#delivering) if (this.waitsBehind(e)) behind += 1;
    return {
      queued: this.#n.queued + behind, pending: this.#n.pending + this.#w.spilledCount(), delivering: this.#n.delivering - behind,
      oldest_due_at: oldest,
    };
  }

  /**
   * A leased entry that is not first in its line: a chain's follower (claim), leased with its
   * head but sent only once the head is done. The delivery log shows it as waiting for an
   * earlier event, not as under way: nothing of it has gone out.
   */
  waitsBehind(e: Entry): boolean {
    return e.state === 'delivering' && head(this.#lines.get(e.order_key)?.calls.get(e.call_id)) !== e;
  }

  /** ids under way now (a chain's followers not among them), for the delivery log's view of them */
  deliveringIds(): string[] {
    const out: string[] = [];
    for (const e of this.#delivering) if (!this.waitsBehind(e)) out.push(e.id);
    return out;
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
    this.#to(e, 'pending');
    e.owner = null;
    e.lease_until = null;
    e.next_at = at;
    if (e.pos >= 0) this.#due.get(e.order_key)!.update(e);
    else this.#heap(e.order_key).push(e);
  }

  #unheap(e: Entry): void {
    if (e.pos < 0) return;
    const h = this.#due.get(e.order_key)!;
    h.remove(e);
    if (h.size === 0) this.#due.delete(e.order_key);
  }

  #demote(e: Entry): void {
    this.#unheap(e);
    this.#to(e, 'queued');
  }

  #to(e: Entry, state: EntryState): void {
    this.#n[e.state] -= 1;
    this.#n[state] += 1;
    e.state = state;
  }

  #remove(e: Entry): void {
    this.#n[e.state] -= 1;
    this.#unheap(e);
    this.#delivering.delete(e);
    this.#byId.delete(e.id);
    const target = this.#lines.get(e.order_key);
    const line = target?.calls.get(e.call_id);
    if (!target || line === undefined) return;
    target.n -= 1;
    if (line === e) target.calls.delete(e.call_id);
    else if (Array.isArray(line)) {
      const i = line.indexOf(e);
      if (i >= 0) line.splice(i, 1);
      if (line.length === 1) target.calls.set(e.call_id, line[0]!);
      else if (line.length === 0) target.calls.delete(e.call_id);
    }
    // a spilled target is kept: it knows its calls in the database
    if (target.calls.size === 0 && !target.spilled) this.#lines.delete(e.order_key);
  }
}
