import { statSync } from 'node:fs';
import { TEST_CALL_ID, type RetentionCutoffs, type StoreStats } from '../contract.ts';
import type { Sql } from './db.ts';
import type { Scheduler } from './scheduler.ts';

/**
 * The oldest settled deliveries of one status, through the partial index deliveries_settled.
 * The status is written into the SQL with the index's own term: with `status = ?` SQLite
 * cannot prove the partial index applies and read every delivery row (bench: 265 ms on the
 * delivery thread with ~300,000 rows, every retention pass, and the whole table paged in).
 */
const oldestSettled = (status: 'succeeded' | 'dead'): string =>
  `SELECT id FROM deliveries WHERE status IN ('succeeded', 'dead') AND status = '${status}' AND updated_at < ? ORDER BY updated_at LIMIT ?`;
export const OLDEST_SETTLED = { succeeded: oldestSettled('succeeded'), dead: oldestSettled('dead') } as const;

/**
 * Retention and statistics on SQLite. Each purge deletes at most `batch` rows of each kind in
 * the caller's transaction, so the writer is held for a few ms at a time, never minutes.
 */
export function purge(db: Sql, c: RetentionCutoffs): number {
  let n = 0;
  for (const [status, before] of [['succeeded', c.before], ['dead', c.deadBefore]] as const) {
    const ids = JSON.stringify(db.all(OLDEST_SETTLED[status], before, c.batch).map((r) => String(r.id)));
    n += db.run('DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT value FROM json_each(?))', ids);
    n += db.run('DELETE FROM delivery_bodies WHERE n IN (SELECT request_n FROM deliveries WHERE id IN (SELECT value FROM json_each(?)))', ids);
    n += db.run('DELETE FROM deliveries WHERE id IN (SELECT value FROM json_each(?))', ids);
  }
  // An ended call goes once none of its deliveries is left (a dead one keeps its call in the log).
  const calls = JSON.stringify(db.all(
    `SELECT id FROM calls c WHERE status = 'ended' AND created_at < ?
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.call_id = c.id)
     ORDER BY created_at LIMIT ?`, c.before, c.batch,
  ).map((r) => String(r.id)));
  n += db.run('DELETE FROM call_events WHERE call_id IN (SELECT value FROM json_each(?))', calls);
  n += db.run('DELETE FROM call_timers WHERE call_id IN (SELECT value FROM json_each(?))', calls);
  n += db.run('DELETE FROM calls WHERE id IN (SELECT value FROM json_each(?))', calls);
  n += db.run('DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE created_at < ? LIMIT ?)', c.before, c.batch);
  n += db.run('DELETE FROM ingested_events WHERE rowid IN (SELECT rowid FROM ingested_events WHERE created_at < ? LIMIT ?)', c.before, c.batch);
  return n;
}

const fileSize = (file: string | null): number | null => {
  if (file === null) return null;
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

/**
 * The dead deliveries, counted in the partial index deliveries_settled. SQLite uses a partial
 * index only when the query repeats its WHERE term: `status = 'dead'` alone read every delivery
 * row, at every /metrics scrape (PostgreSQL proves the implication itself). Failed tests (sent
 * once, `dead`) are not counted: an alert on dead deliveries must not fire because someone tested
 * a broken URL; they are read through the index by call (a test's call id).
 */
export const COUNT_DEAD = `SELECT (SELECT count(*) FROM deliveries WHERE status IN ('succeeded', 'dead') AND status = 'dead')
  - (SELECT count(*) FROM deliveries WHERE call_id = '${TEST_CALL_ID}' AND status = 'dead') AS n`;

export function stats(db: Sql, sched: Scheduler, file: string | null, now: number): StoreStats {
  const q = sched.counts(now);
  const dead = Number(db.get(COUNT_DEAD)?.n ?? 0);
  return {
    database_bytes: fileSize(file),
    wal_bytes: file === null ? null : fileSize(`${file}-wal`),
    deliveries: { queued: q.queued, pending: q.pending, delivering: q.delivering, dead },
    oldest_due_at: q.oldest_due_at,
  };
}
