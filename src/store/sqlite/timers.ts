import type { TimerClaim } from '../contract.ts';
import type { Sql } from './db.ts';

/**
 * The call engine's durable timers: one row per live call (its due time, written with the
 * call). Who holds a timer while its step runs is kept in memory (`TimerLeases`): SQLite serves
 * one process per data directory, so there is no other process to tell, and a crash voids
 * every lease anyway (as the scheduler's, scheduler.ts).
 *
 * Why: a claim in SQL was a write — an UPDATE of the claimed rows, in and out of the
 * call_timers_leased index, and a group commit of its own for each engine round — for a lease
 * nothing outside this process reads. Workload (a) claims a timer per simulated call.
 */
export class TimerLeases {
  readonly #held = new Map<string, { owner: string; until: number }>();

  get size(): number {
    return this.#held.size;
  }

  /** leased (a claim sweeps the leases run out first, so there it means held now) */
  has(callId: string): boolean {
    return this.#held.has(callId);
  }

  take(callId: string, owner: string, until: number): void {
    this.#held.set(callId, { owner, until });
  }

  /** The call's step is written (its timer set anew or cleared): nobody holds it. */
  clear(callId: string): void {
    this.#held.delete(callId);
  }

  /** The call's step is written: nobody holds its timer, or `lease`'s owner (CallWrite.timer_lease). */
  written(callId: string, lease: { owner: string; until: number } | undefined): void {
    if (lease) this.take(callId, lease.owner, lease.until);
    else this.clear(callId);
  }

  release(owner: string): void {
    for (const [id, l] of this.#held) if (l.owner === owner) this.#held.delete(id);
  }

  /** Forgets leases run out by `now` (a step that failed, a call purged): at most an engine round's few are kept. */
  sweep(now: number): void {
    for (const [id, l] of this.#held) if (l.until <= now) this.#held.delete(id);
  }

  /** the earliest end of a lease, or null */
  earliestEnd(): number | null {
    let t: number | null = null;
    for (const l of this.#held.values()) if (t === null || l.until < t) t = l.until;
    return t;
  }
}

// The earliest timers, due by ?: through call_timers_by_due. Up to `limit` more than the held
// ones are read, since each held one is skipped.
export const EARLIEST_DUE = 'SELECT call_id, due_at FROM call_timers WHERE due_at <= ? ORDER BY due_at LIMIT ?';

/** Up to `limit` due timers nobody holds, by due time, leased to `owner` until `leaseUntil`. Reads only. */
export function claimTimers(db: Sql, leases: TimerLeases, owner: string, now: number, leaseUntil: number, limit: number): TimerClaim[] {
  // Leases run out are forgotten first: their timers are claimable again, and a lease on a call
  // whose timer is gone (purged) must not keep waking the engine (nextTimerDue).
  leases.sweep(now);
  const out: TimerClaim[] = [];
  if (limit <= 0) return out;
  for (const r of db.all(EARLIEST_DUE, now, limit + leases.size)) {
    const id = String(r.call_id);
    if (leases.has(id)) continue;
    leases.take(id, owner, leaseUntil);
    out.push({ call_id: id, due_at: Number(r.due_at) });
    if (out.length === limit) break;
  }
  return out;
}

/**
 * The earliest due time of a timer nobody holds, or the earliest end of a lease: when the
 * engine must look again.
 */
export function nextTimerDue(db: Sql, leases: TimerLeases): number | null {
  let next = leases.earliestEnd();
  for (const r of db.all(EARLIEST_DUE, Number.MAX_SAFE_INTEGER, leases.size + 1)) {
    const id = String(r.call_id);
    const due = Number(r.due_at);
    if (leases.has(id)) continue;
    if (next === null || due < next) next = due;
    break;
  }
  return next;
}
