import type { NewDelivery } from '../contract.ts';

/** The SQLite queue's entries (scheduler.ts), and how much of each target it holds in memory. */
export type EntryState = 'queued' | 'pending' | 'delivering';

/**
 * One unsettled delivery. Kept small, because up to a window of each target's backlog is held
 * here (Windows): ~185 bytes an entry beside its id and call id strings, against ~440 with a
 * heap node per due time and an array per line.
 */
export interface Entry {
  readonly id: string;
  readonly order_key: string;
  readonly call_id: string;
  readonly seq: number;
  next_at: number;
  /** attempts made as far as the queue knows (the row's count may not be committed yet) */
  attempts: number;
  state: EntryState;
  owner: string | null;
  lease_until: number | null;
  /** its index in its target's due heap while pending, else -1 */
  pos: number;
}

/** A call's line for one target: most calls have one unsettled delivery, kept without an array. */
export type Line = Entry | Entry[];
export const head = (l: Line | undefined): Entry | undefined => (Array.isArray(l) ? l[0] : l);
export const entries = (l: Line): Entry[] => (Array.isArray(l) ? l : [l]);

/** The keys of a delivery the queue holds, as written or read back from its row. */
export type EntryKeys = Pick<NewDelivery, 'id' | 'order_key' | 'call_id' | 'event_seq' | 'next_attempt_at'>;
/** As read back from its row, with when it was written (Windows offerGraceMs). */
export type RowKeys = EntryKeys & { created_at: number };

/**
 * How many of a target's deliveries the queue holds in memory; past that, whole calls stay in
 * the database only ("spilled") and are read back, oldest first, when the target's part has
 * fallen below half its window (queue.ts refill).
 *
 * Why: a dead target's backlog was held here whole — 100,000 entries, ~25 MB live, which V8
 * grows into ~100 MB of old generation (issue 10 item 5: RSS within 100 MB of the run without
 * the backlog). `healthy` is above what a healthy burst builds (workload (b) runs 20,000–30,000
 * deliveries ahead of the sender: those must not spill, or each would be read back at its claim
 * instead of taken from the offer kept in memory); `failing` applies to a target whose last
 * FAILS_TO_SHRINK results failed (as the throttle pauses a target after 3 failures in a row: a
 * lone 500 among successes must not send a healthy burst back to the database), and at start
 * to every target (nothing is known of them yet: a restart with a large backlog is the case of
 * a dead target). Refills of one target are at least `refillGapMs`
 * apart: each reads the open set from its start (a flapping target must not scan it per result).
 */
export interface Windows {
  healthy: number;
  failing: number;
  refillGapMs: number;
  /**
   * Split mode: a refill leaves a call alone while one of its rows is younger than this, since
   * its offer may still be on its way from the writing thread (Scheduler #admit); 0 where the
   * writes feed the queue themselves.
   */
  offerGraceMs: number;
}
export const WINDOWS: Windows = { healthy: 50_000, failing: 5_000, refillGapMs: 1_000, offerGraceMs: 0 };
export const FAILS_TO_SHRINK = 3;

/** One target's part of the queue. */
export interface Target {
  readonly key: string;
  /** its calls' lines, oldest call first (Map order) */
  readonly calls: Map<string, Line>;
  /** entries in memory */
  n: number;
  /** whether some of its calls wait in the database only */
  spilled: boolean;
  /** how many deliveries those are: counted as they spill and come back, exact after a full refill */
  spilledN: number;
  /** its failed results in a row (FAILS_TO_SHRINK of them at start: nothing is known of it yet) */
  fails: number;
  /** when its last refill ran */
  refilledAt: number;
}

export interface Settlement {
  id: string;
  owner: string;
  status: 'succeeded' | 'pending' | 'dead';
  next_at: number;
  /** the attempt this result is of */
  attempt: number;
}
