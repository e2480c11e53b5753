import type { Entry, EntryKeys, RowKeys, Target, Windows } from './entries.ts';
import { entries, FAILS_TO_SHRINK } from './entries.ts';

const NONE: readonly string[] = [];

/** What the window needs of the queue it bounds (scheduler.ts). */
export interface WindowHost {
  /** the queue's targets, by order key */
  readonly lines: Map<string, Target>;
  /** whether the delivery is in memory */
  has(id: string): boolean;
  /** puts a delivery read back from its row in its call's line (in seq order) */
  insert(t: Target, d: EntryKeys): void;
  /** takes an entry out of memory (its row stays open) */
  remove(e: Entry): void;
}

/**
 * The part of the SQLite queue that bounds its memory (entries.ts Windows): which deliveries
 * stay in the database only ("spilled"), when a failing target gives some back (trim), when and
 * how they are read back (refill), and the results not yet recorded, which neither may touch.
 */
export class QueueWindow {
  readonly #host: WindowHost;
  readonly #windows: Windows;
  readonly #onEvict: ((id: string) => void) | undefined;
  /** targets with calls in the database only */
  readonly targets = new Set<Target>();
  /**
   * ids whose result the queue has applied and the database has not yet recorded (the write
   * follows in the next group commit): a refill must not read them back as still open, nor a
   * trim drop one whose row is behind what memory knows.
   */
  readonly settling = new Set<string>();

  constructor(host: WindowHost, windows: Windows, onEvict?: (id: string) => void, settling: Iterable<string> = []) {
    this.#host = host;
    this.#windows = windows;
    this.#onEvict = onEvict;
    for (const id of settling) this.settling.add(id);
  }

  /**
   * Whether a delivery of call `callId` stays in the database: a call already held is let in
   * whole (its line must be complete to keep its order); a new one waits while the target is at
   * its window, or while older calls do.
   */
  spills(t: Target, callId: string): boolean {
    if (t.calls.has(callId) || (!t.spilled && t.n < this.size(t))) return false;
    t.spilled = true;
    t.spilledN += 1;
    this.targets.add(t);
    return true;
  }

  /** A result of the target's: three failures in a row shrink it to its failing window. */
  result(t: Target, id: string, succeeded: boolean): boolean {
    this.settling.add(id);
    t.fails = succeeded ? 0 : t.fails + 1;
    return t.fails === FAILS_TO_SHRINK;
  }

  /** The database has recorded these results: a refill may read their rows again. */
  recorded(ids: Iterable<string>): void {
    for (const id of ids) this.settling.delete(id);
  }

  /** The earliest refill after `now`, if any is waiting for room or time. */
  nextRefill(now: number): number | null {
    let next: number | null = null;
    for (const t of this.targets) {
      const at = this.refillAt(t);
      if (at !== Infinity && (next === null || Math.max(at, now + 1) < next)) next = Math.max(at, now + 1);
    }
    return next;
  }

  /** deliveries in the database only, as counted */
  spilledCount(): number {
    let n = 0;
    for (const t of this.targets) n += t.spilledN;
    return n;
  }

  /** how many entries the target may hold now */
  size(t: Target): number {
    return t.fails >= FAILS_TO_SHRINK ? this.#windows.failing : this.#windows.healthy;
  }

  /**
   * A target turned failing holds more than its window: its newest whole calls go back to the
   * database only (none under way, none with a result not yet recorded), to be read back later.
   */
  trim(t: Target): void {
    const w = this.size(t);
    if (t.n <= w) return;
    const calls = [...t.calls.values()];
    for (let i = calls.length - 1; i >= 0 && t.n > w; i--) {
      const es = entries(calls[i]!);
      if (es.some((e) => e.state === 'delivering' || this.settling.has(e.id))) continue;
      t.spilled = true;
      t.spilledN += es.length;
      this.targets.add(t);
      for (const e of [...es]) {
        this.#host.remove(e);
        this.#onEvict?.(e.id);
      }
    }
  }

  /** Targets whose calls wait in the database and whose window has room again: to refill now (every claim asks). */
  refillsDue(now: number): readonly string[] {
    if (this.targets.size === 0) return NONE;
    const due: string[] = [];
    for (const t of this.targets) if (this.refillAt(t) <= now) due.push(t.key);
    return due;
  }

  /** in memory, or its result applied here and not yet recorded: either way not to read back */
  #known(id: string): boolean {
    return this.#host.has(id) || this.settling.has(id);
  }

  /** when a spilled target may be refilled: once below half its window, `refillGapMs` after the last */
  refillAt(t: Target): number {
    return t.n < this.size(t) / 2 ? t.refilledAt + this.#windows.refillGapMs : Infinity;
  }

  /**
   * Reads a spilled target's calls back (queue.ts refill): `open` lists its open rows oldest
   * first, `call` all open rows of one call; whole calls are taken until the window is full.
   * A scan that reaches the end has seen every call left in the database: none is spilled then.
   */
  refill(key: string, now: number, open: Iterable<{ id: string; call_id: string }>, call: (callId: string) => RowKeys[]): void {
    const t = this.#host.lines.get(key);
    if (!t || !t.spilled) return;
    t.refilledAt = now;
    const w = this.size(t);
    let full = false;
    let young = false;
    for (const r of open) {
      // in memory already (or its offer is on the way: its call is here), or its result not yet recorded
      if (t.calls.has(r.call_id) || this.#known(r.id)) continue;
      if (t.n >= w) {
        full = true;
        break;
      }
      if (this.#admit(t, call(r.call_id), now) === null) young = true;
    }
    if (full || young) {
      t.spilledN = Math.max(1, t.spilledN);
      return;
    }
    t.spilled = false;
    t.spilledN = 0;
    this.targets.delete(t);
    if (t.calls.size === 0) this.#host.lines.delete(key);
  }

  /**
   * A call's open rows read back whole, unless one is younger than `offerGraceMs` (its offer
   * may still be on its way: split mode's writer posts it after its commit; taken now, it would
   * be added again when it came, after it was sent): null then, and the call waits.
   */
  #admit(t: Target, rows: RowKeys[], now: number): number | null {
    const grace = this.#windows.offerGraceMs;
    if (grace > 0 && rows.some((d) => d.created_at > now - grace)) return null;
    let n = 0;
    for (const d of rows) {
      if (this.#known(d.id)) continue;
      this.#host.insert(t, d);
      n += 1;
    }
    t.spilledN = Math.max(0, t.spilledN - n);
    return n;
  }

  /**
   * A manual retry of a delivery that waits in the database: its call is read back now (whole,
   * beyond the window), so the retry is due at once as for any held delivery. False when it is
   * not spilled, or its call has a row too young to read back yet.
   */
  admitSpilled(orderKey: string, id: string, rows: RowKeys[], now: number): boolean {
    const t = this.#host.lines.get(orderKey);
    if (!t || !this.spilled(orderKey, id) || !rows.some((d) => d.id === id)) return false;
    const n = this.#admit(t, rows, now);
    if (n !== null) t.spilledN = Math.max(1, t.spilledN);
    return n !== null && this.#host.has(id);
  }

  /** Whether a delivery not in memory waits in the database to be read back (a spilled call's). */
  spilled(orderKey: string, id: string): boolean {
    return this.#host.lines.get(orderKey)?.spilled === true && !this.#known(id);
  }

  /** Results applied here and not yet recorded: carried into a queue rebuilt after a failed commit. */
  unrecorded(): string[] {
    return [...this.settling];
  }
}
