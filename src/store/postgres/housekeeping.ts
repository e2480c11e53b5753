import type pg from 'pg';
import { TEST_CALL_ID, type RetentionCutoffs, type StoreStats } from '../contract.ts';
import { BEHIND } from './deliveries.ts';
import { countOf, rowsOf, type Client } from './sql.ts';

/**
 * Retention and statistics on PostgreSQL. Each purge deletes at most `batch` rows of each kind
 * in the caller's transaction; rows another transaction holds are skipped, not waited for.
 */
/**
 * The oldest settled deliveries of a status ($1: before, $2: how many). The status is written
 * into the statement, not bound: only then does a generic plan (pool.ts) read deliveries_settled,
 * whose predicate names the statuses; with `status = $1` it sorted every delivery by updated_at
 * (bench, 200,000 rows: 250–410 ms a pick, twice a minute).
 */
export function purgePick(status: 'succeeded' | 'dead'): string {
  return `SELECT id FROM deliveries WHERE status = '${status}' AND updated_at < $1 ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED`;
}

export async function purge(c: pg.PoolClient, k: RetentionCutoffs): Promise<number> {
  let n = 0;
  for (const [status, before] of [['succeeded', k.before], ['dead', k.deadBefore]] as const) {
    const ids = (await rowsOf(c, `purge_${status}_pick`, purgePick(status), [before, k.batch])).map((r) => String(r.id));
    if (ids.length === 0) continue;
    n += await countOf(c, 'purge_attempts', 'DELETE FROM delivery_attempts WHERE delivery_id = ANY($1::text[])', [ids]);
    n += await countOf(c, 'purge_requests', 'DELETE FROM delivery_requests WHERE delivery_id = ANY($1::text[])', [ids]);
    n += await countOf(c, 'purge_deliveries', 'DELETE FROM deliveries WHERE id = ANY($1::text[])', [ids]);
  }
  // An ended call goes once none of its deliveries is left (a dead one keeps its call in the log).
  const calls = (await rowsOf(c, 'purge_calls_pick',
    `SELECT id FROM calls c WHERE status = 'ended' AND created_at < $1
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.call_id = c.id)
     ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED`, [k.before, k.batch])).map((r) => String(r.id));
  if (calls.length > 0) {
    n += await countOf(c, 'purge_events', 'DELETE FROM call_events WHERE call_id = ANY($1::text[])', [calls]);
    n += await countOf(c, 'purge_timers', 'DELETE FROM call_timers WHERE call_id = ANY($1::text[])', [calls]);
    n += await countOf(c, 'purge_calls', 'DELETE FROM calls WHERE id = ANY($1::text[])', [calls]);
  }
  n += await countOf(c, 'purge_idempotency',
    'DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE created_at < $1 LIMIT $2)', [k.before, k.batch]);
  n += await countOf(c, 'purge_ingested',
    'DELETE FROM ingested_events WHERE ctid IN (SELECT ctid FROM ingested_events WHERE created_at < $1 LIMIT $2)', [k.before, k.batch]);
  return n;
}

export async function stats(c: Client, now: number): Promise<StoreStats> {
  const [row] = await rowsOf(c, 'store_stats',
    `SELECT pg_database_size(current_database()) AS db,
            (SELECT count(*) FROM delivery_queue WHERE status = 'queued') AS queued,
            (SELECT count(*) FROM delivery_queue WHERE status = 'pending') AS pending,
            (SELECT count(*) FROM delivery_queue WHERE status = 'delivering') AS delivering,
            (SELECT count(*) FROM delivery_queue q WHERE q.status = 'delivering' AND ${BEHIND}) AS behind,
            -- failed tests (sent once) are not dead work: sqlite/housekeeping.ts COUNT_DEAD
            (SELECT count(*) FROM deliveries WHERE status = 'dead') - (SELECT count(*) FROM deliveries WHERE call_id = '${TEST_CALL_ID}' AND status = 'dead') AS dead,
            (SELECT MIN(next_attempt_at) FROM delivery_queue WHERE status = 'pending' AND next_attempt_at <= $1) AS oldest`, [now]);
  let wal: number | null = null;
  try {
    // The server's WAL (all its databases): readable by superusers and pg_monitor members only.
    const [w] = await rowsOf(c, 'store_wal', 'SELECT COALESCE(SUM(size), 0) AS bytes FROM pg_ls_waldir()');
    wal = Number(w?.bytes ?? 0);
  } catch {
    wal = null;
  }
  const num = (v: unknown): number => Number(v ?? 0);
  return {
    database_bytes: num(row?.db),
    wal_bytes: wal,
    // a chain's followers count as waiting, as the log shows them (deliveries.ts BEHIND)
    deliveries: { queued: num(row?.queued) + num(row?.behind), pending: num(row?.pending), delivering: num(row?.delivering) - num(row?.behind), dead: num(row?.dead) },
    oldest_due_at: row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest),
  };
}
