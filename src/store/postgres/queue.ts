import type pg from 'pg';
import type { AttemptResult, Delivery, Slots } from '../contract.ts';
import { deliveryFromRow } from '../rows.ts';
import { countOf, rowsOf, type Client } from './sql.ts';

/**
 * The PostgreSQL delivery queue's statements: claiming due deliveries (FOR NO KEY UPDATE SKIP LOCKED,
 * leased to the claiming process) and settling finished attempts in batches, with the promotion
 * of each line's next queued event and the targets' health.
 */
export async function claimDue(c: Client, owner: string, now: number, leaseUntil: number, limit: number, slots: Slots, reap: boolean): Promise<Delivery[]> {
  if (limit <= 0) return [];
  if (reap) {
    // A lease that ran out (its process died) puts the delivery back in line.
    await countOf(c, 'deliveries_reap',
      "UPDATE deliveries SET status = 'pending', locked_by = NULL, locked_until = NULL, next_attempt_at = $1 WHERE status = 'delivering' AND locked_until <= $1",
      [now]);
  }
  // Target by target (issue 9): the targets with pending rows come from a loose scan of
  // deliveries_ready (one probe each), each target with free slots gives its earliest due rows
  // (skipping rows another claim or settle holds; FOR NO KEY UPDATE, so not the pending heads a
  // call write holds FOR KEY SHARE while it decides), and they are taken round-robin — every target's
  // first before anyone's second — up to LIMIT. A full or failing target's backlog is never
  // walked. Only the head of each call's line for a target is 'pending' (later ones 'queued').
  const keys = [...slots.free.keys()];
  const rows = await rowsOf(c, 'deliveries_claim',
    `WITH RECURSIVE k(key) AS (
       (SELECT order_key FROM deliveries WHERE status = 'pending' ORDER BY order_key LIMIT 1)
       UNION ALL
       SELECT (SELECT d.order_key FROM deliveries d WHERE d.status = 'pending' AND d.order_key > k.key ORDER BY d.order_key LIMIT 1)
       FROM k WHERE k.key IS NOT NULL),
     caps AS (
       SELECT k.key, LEAST($5::int, COALESCE(f.free, $6::int)) AS cap
       FROM k LEFT JOIN unnest($7::text[], $8::int[]) AS f(key, free) ON f.key = k.key
       WHERE k.key IS NOT NULL),
     picked AS (
       SELECT p.id, p.next_attempt_at, row_number() OVER (PARTITION BY caps.key ORDER BY p.next_attempt_at, p.id) AS rank
       FROM caps CROSS JOIN LATERAL (
         SELECT id, next_attempt_at FROM deliveries
         WHERE order_key = caps.key AND status = 'pending' AND next_attempt_at <= $3
         ORDER BY next_attempt_at, id LIMIT caps.cap
         FOR NO KEY UPDATE SKIP LOCKED) p
       WHERE caps.cap > 0),
     claimed AS (
       UPDATE deliveries d SET status = 'delivering', locked_by = $1, locked_until = $2
       FROM (SELECT id FROM picked ORDER BY rank, next_attempt_at, id LIMIT $4) s
       WHERE d.id = s.id
       RETURNING d.*)
     -- the request comes from its own table (written once at enqueue, never rewritten)
     SELECT c.*, r.request FROM claimed c JOIN delivery_requests r ON r.delivery_id = c.id`, [owner, leaseUntil, now, limit, limit, slots.fallback, keys, keys.map((k) => slots.free.get(k)!)]);
  return rows.map(deliveryFromRow).sort((a, b) => a.next_attempt_at - b.next_attempt_at || (a.id < b.id ? -1 : 1));
}

export async function settleAttempts(c: pg.PoolClient, results: AttemptResult[], now: number): Promise<void> {
  const a = results.map((r) => r.attempt);
  await countOf(c, 'attempts_insert',
    `INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, request, response_headers, response_excerpt)
     SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::int[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[])
     ON CONFLICT DO NOTHING`,
    [a.map((x) => x.delivery_id), a.map((x) => x.attempt), a.map((x) => x.started_at), a.map((x) => x.duration_ms), a.map((x) => x.status_code),
      a.map((x) => x.error), a.map((x) => JSON.stringify(x.request)), a.map((x) => (x.response_headers === null ? null : JSON.stringify(x.response_headers))),
      a.map((x) => x.response_excerpt)]);
  // The settled rows are locked first, FOR UPDATE and in id order. A call write holds FOR KEY
  // SHARE on the unsettled rows of the lines it adds to (calls.ts) and decides 'queued' from
  // them: this lock waits for such a write to commit, and the promotion below — a later
  // statement, with a later snapshot — then sees its queued rows; a write that comes after
  // waits for our commit and sees the rows settled. Both sides lock in id order: no deadlock.
  await countOf(c, 'deliveries_lock', 'SELECT id FROM deliveries WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE',
    [results.map((r) => r.attempt.delivery_id)]);
  const settled = await rowsOf(c, 'deliveries_settle',
    `UPDATE deliveries d SET status = t.status, attempts = t.attempt, next_attempt_at = t.next_at, locked_by = NULL, locked_until = NULL,
            updated_at = $7, last_status_code = t.code, last_error = t.error
     FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::int[], $6::text[], $8::text[]) AS t(id, status, attempt, next_at, code, error, owner)
     WHERE d.id = t.id AND d.locked_by = t.owner
     RETURNING d.order_key, d.call_id, d.status`,
    [results.map((r) => r.attempt.delivery_id), results.map((r) => r.status), a.map((x) => x.attempt), results.map((r) => r.next_attempt_at),
      a.map((x) => x.status_code), a.map((x) => x.error), now, results.map((r) => r.owner)]);
  const done = settled.filter((r) => r.status !== 'pending');
  if (done.length > 0) {
    // The next queued event of each settled line becomes due.
    await countOf(c, 'deliveries_promote',
      `UPDATE deliveries d SET status = 'pending', next_attempt_at = $3, updated_at = $3
       FROM (SELECT DISTINCT ON (q.order_key, q.call_id) q.id
             FROM deliveries q JOIN unnest($1::text[], $2::text[]) AS s(order_key, call_id) ON q.order_key = s.order_key AND q.call_id = s.call_id
             WHERE q.status = 'queued'
             ORDER BY q.order_key, q.call_id, q.event_seq) n
       WHERE d.id = n.id
         AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.order_key = d.order_key AND p.call_id = d.call_id AND p.status IN ('pending', 'delivering'))`,
      [done.map((r) => String(r.order_key)), done.map((r) => String(r.call_id)), now]);
  }
  const ok = [...new Set(results.filter((r) => r.target.success).map((r) => r.target.id))];
  // A target's failing_since follows its last result in the batch (as one write per result would).
  const last = new Map(results.map((r) => [r.target.id, r.target.success]));
  const failed = [...last].filter(([, success]) => !success).map(([id]) => id);
  if (ok.length > 0) {
    await countOf(c, 'targets_ok', 'UPDATE resources SET last_success_at = $1::bigint, failing_since = NULL WHERE id = ANY($2::text[]) AND (failing_since IS NOT NULL OR last_success_at IS NULL OR last_success_at < $1::bigint - 60000)', [now, ok]);
  }
  if (failed.length > 0) {
    await countOf(c, 'targets_failing', 'UPDATE resources SET failing_since = $1 WHERE id = ANY($2::text[]) AND failing_since IS NULL', [now, failed]);
  }
  for (const r of results) {
    if (r.target.disable_reason === undefined) continue;
    await countOf(c, 'target_disable', 'UPDATE resources SET enabled = FALSE, disabled_reason = $1, updated_at = $2 WHERE id = $3 AND enabled', [r.target.disable_reason, now, r.target.id]);
  }
}
