import type { TimerClaim } from '../contract.ts';
import type { Sql } from './db.ts';

/** The call engine's durable timers: one row per live call, claimed under a lease. */

export function claimTimers(db: Sql, owner: string, now: number, leaseUntil: number, limit: number): TimerClaim[] {
  return db.all(
    `UPDATE call_timers SET locked_by = ?, locked_until = ?
     WHERE call_id IN (SELECT call_id FROM call_timers WHERE due_at <= ? AND (locked_until IS NULL OR locked_until <= ?) ORDER BY due_at LIMIT ?)
     RETURNING call_id, due_at`,
    owner, leaseUntil, now, now, limit,
  ).map((r) => ({ call_id: String(r.call_id), due_at: Number(r.due_at) })).sort((a, b) => a.due_at - b.due_at);
}

export function anyDue(db: Sql, now: number): boolean {
  return db.get('SELECT 1 AS x FROM call_timers WHERE due_at <= ? AND (locked_until IS NULL OR locked_until <= ?) LIMIT 1', now, now) !== undefined;
}

/**
 * The earliest unleased due time, or the earliest lease to run out: two index probes
 * (call_timers_by_due, call_timers_leased; migration 0011), not a read of every live call's timer.
 */
export const NEXT_TIMER_DUE = `SELECT MIN(t) AS t FROM (
    SELECT * FROM (SELECT due_at AS t FROM call_timers WHERE locked_until IS NULL ORDER BY due_at LIMIT 1)
    UNION ALL
    SELECT * FROM (SELECT locked_until AS t FROM call_timers WHERE locked_until IS NOT NULL ORDER BY locked_until LIMIT 1))`;

export function nextTimerDue(db: Sql): number | null {
  const row = db.get(NEXT_TIMER_DUE);
  return row && row.t !== null ? Number(row.t) : null;
}

export function releaseTimers(db: Sql, owner: string): void {
  db.run('UPDATE call_timers SET locked_by = NULL, locked_until = NULL WHERE locked_by = ?', owner);
}
