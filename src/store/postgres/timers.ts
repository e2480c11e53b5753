import type pg from 'pg';
import type { TimerClaim } from '../contract.ts';
import { callFromRow, type Row } from '../rows.ts';
import { countOf, pipelinedTx, rowsOf, type Client } from './sql.ts';

/**
 * The call engine's durable timers on PostgreSQL: one row per call, claimed with FOR UPDATE
 * SKIP LOCKED under a lease (a crashed process's timers are taken over once the lease runs out).
 * Call writes set and clear them (calls.ts).
 */
/**
 * Committed without waiting for the WAL flush, like the dispatcher's rounds: a claim lost in a
 * server crash is claimed again, and a step played twice is refused by the call's version guard.
 * The transaction also answers when the engine must look again (NEXT_DUE, after the claim, so the
 * claimed timers count as leased): the engine asks that after every claim that came back short,
 * and a round trip of its own was ~120 a second at the bench's fixed 500 events/s.
 */
export async function claimTimers(pool: pg.Pool, owner: string, now: number, leaseUntil: number, limit: number): Promise<{ claims: TimerClaim[]; next: number | null }> {
  // With each claimed timer its call (one pkey probe each): the step that follows plays on it
  // instead of reading it in a round trip of its own (a call written since fails the step's
  // version guard, and the step reads it again).
  const [rows, next] = await pipelinedTx(pool, [{
    name: 'timers_claim',
    text: `WITH claimed AS (
       UPDATE call_timers SET locked_by = $1, locked_until = $2
       WHERE call_id IN (
         SELECT call_id FROM call_timers WHERE due_at <= $3 AND (locked_until IS NULL OR locked_until <= $3)
         ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED)
       RETURNING call_id, due_at)
     SELECT claimed.call_id, claimed.due_at, c.doc FROM claimed LEFT JOIN calls c ON c.id = claimed.call_id`,
    values: [owner, leaseUntil, now, limit],
  }, { name: 'timers_next', text: NEXT_DUE, values: [] }], false);
  return {
    claims: rows!.map((r) => ({ call_id: String(r.call_id), due_at: Number(r.due_at), call: r.doc === null ? undefined : callFromRow(r) }))
      .sort((a, b) => a.due_at - b.due_at),
    next: nextOf(next!),
  };
}

// The earliest unleased due time, or the earliest lease to run out: two index probes
// (call_timers_by_due, call_timers_leased) rather than a read of every timer.
const NEXT_DUE = `SELECT LEAST((SELECT due_at FROM call_timers WHERE locked_until IS NULL ORDER BY due_at LIMIT 1),
                (SELECT locked_until FROM call_timers WHERE locked_until IS NOT NULL ORDER BY locked_until LIMIT 1)) AS t`;
const nextOf = (rows: Row[]): number | null => (rows[0]?.t === null || rows[0]?.t === undefined ? null : Number(rows[0].t));

export async function nextTimerDue(c: Client): Promise<number | null> {
  return nextOf(await rowsOf(c, 'timers_next', NEXT_DUE));
}

export async function releaseTimers(c: Client, owner: string): Promise<void> {
  await countOf(c, 'timers_release', 'UPDATE call_timers SET locked_by = NULL, locked_until = NULL WHERE locked_by = $1', [owner]);
}
