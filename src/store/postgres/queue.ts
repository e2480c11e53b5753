import type { AttemptResult, Delivery, Slots } from '../contract.ts';
import { deliveryFromRow, type Row } from '../rows.ts';
import { byLine, jsonTexts, textsFromJson, type Step } from './sql.ts';

/**
 * The PostgreSQL delivery queue's statements: claiming due deliveries (FOR NO KEY UPDATE SKIP
 * LOCKED, leased to the claiming process) and settling finished attempts in batches, with the
 * promotion of each line's next queued event and the targets' health. Each is a Step: the store
 * sends a dispatcher round's steps (settle, promote, reap, claim) pipelined, in one transaction
 * and one round trip (sql.ts pipelinedTx), where it took 9–11 before.
 *
 * The queue is `delivery_queue` (migration 0008): one small row per delivery not yet settled
 * for good — its line (order key, call, event seq), status (queued, pending, delivering), next
 * attempt and lease. Claims, promotions, reaps and releases touch only it; a settle deletes it
 * (or makes it due again) and writes the delivery's log row once. The log (`deliveries`, kept for
 * days) is not rewritten by the queue's churn, and the VACUUM that churn needs reads only this
 * small table's indexes.
 */

/**
 * Records finished attempts, in one statement: the attempts, the deliveries' new state (only
 * where `owner` still holds the lease: the queue row deleted, or due again for a retry, and the
 * log row updated) and the targets' health.
 *
 * The settled queue rows are locked first, FOR UPDATE, one pkey probe each, in line order (sql.ts
 * byLine). A call write holds FOR KEY SHARE on the first unsettled row of each line it adds to
 * (calls.ts) and decides 'queued' from it: this lock waits for such a write to commit, and the
 * promotion — the next statement, with a later snapshot — then sees its queued rows; a write
 * that comes after waits for our commit and finds the rows gone. Both sides lock in line
 * order, so they cannot deadlock. The promotion must stay a statement of its own: this one's
 * snapshot predates whatever the lock waited for.
 *
 * Plans: a join of the results with deliveries was planned, while the table was small, as a
 * hash join over a scan of the whole table, and that generic plan stayed: 20 ms per settle at
 * ~50,000 rows. A probe per result (`LIMIT 1`) stays a probe.
 */
export function settleStep(results: AttemptResult[], now: number): Step {
  const inOrder = [...results].sort((x, y) => byLine(x, y) || (x.attempt.delivery_id < y.attempt.delivery_id ? -1 : 1));
  const a = inOrder.map((r) => r.attempt);
  // Target health as one row per target (one UPDATE may change a row only once): any success
  // refreshes last_success_at (at most once a minute) and clears failing_since; failing_since
  // then follows the target's last result in the batch, as one write per result in order would;
  // the first disable reason disables it.
  const health = new Map<string, { ok: boolean; failed: boolean; reason: string | null }>();
  for (const r of results) {
    const h = health.get(r.target.id) ?? { ok: false, failed: false, reason: null };
    h.ok ||= r.target.success;
    h.failed = !r.target.success;
    h.reason ??= r.target.disable_reason ?? null;
    health.set(r.target.id, h);
  }
  const targets = [...health.keys()].sort();
  return {
    name: 'deliveries_settle',
    text: `WITH attempts AS (
         INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, request, response_headers, response_excerpt)
         SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::int[], $5::int[], $6::text[], ${textsFromJson(7)}, ${textsFromJson(8)}, ${textsFromJson(9)})
         ON CONFLICT DO NOTHING),
       r AS (
         SELECT * FROM unnest($1::text[], $10::text[], $2::int[], $11::bigint[], $5::int[], $6::text[], $12::text[])
           AS r(id, status, attempt, next_at, code, error, owner)),
       mine AS MATERIALIZED (
         SELECT m.id FROM r CROSS JOIN LATERAL (
           SELECT q.id FROM delivery_queue q WHERE q.id = r.id AND q.locked_by = r.owner LIMIT 1 FOR UPDATE) m),
       -- settled for good: out of the queue; to be tried again: due again, unleased
       gone AS (
         DELETE FROM delivery_queue q USING mine JOIN r ON r.id = mine.id
         WHERE q.id = mine.id AND r.status <> 'pending'),
       again AS (
         UPDATE delivery_queue q SET status = 'pending', next_attempt_at = r.next_at, locked_by = NULL, locked_until = NULL
         FROM mine JOIN r ON r.id = mine.id
         WHERE q.id = mine.id AND r.status = 'pending'),
       logged AS (
         UPDATE deliveries d SET status = r.status, attempts = r.attempt, next_attempt_at = r.next_at,
                updated_at = $13::bigint, last_status_code = r.code, last_error = r.error
         FROM mine JOIN r ON r.id = mine.id
         WHERE d.id = mine.id)
       UPDATE resources t SET
         last_success_at = CASE WHEN h.ok AND (t.failing_since IS NOT NULL OR t.last_success_at IS NULL OR t.last_success_at < $13::bigint - 60000)
                                THEN $13::bigint ELSE t.last_success_at END,
         failing_since = CASE WHEN h.failed THEN COALESCE(CASE WHEN h.ok THEN NULL ELSE t.failing_since END, $13::bigint)
                              WHEN h.ok THEN NULL ELSE t.failing_since END,
         enabled = t.enabled AND h.reason IS NULL,
         disabled_reason = CASE WHEN h.reason IS NOT NULL AND t.enabled THEN h.reason ELSE t.disabled_reason END,
         updated_at = CASE WHEN h.reason IS NOT NULL AND t.enabled THEN $13::bigint ELSE t.updated_at END
       FROM unnest($14::text[], $15::bool[], $16::bool[], $17::text[]) AS h(id, ok, failed, reason)
       WHERE t.id = h.id
         AND ((h.ok AND (t.failing_since IS NOT NULL OR t.last_success_at IS NULL OR t.last_success_at < $13::bigint - 60000))
              OR (h.failed AND (h.ok OR t.failing_since IS NULL))
              OR (h.reason IS NOT NULL AND t.enabled))`,
    values: [
      a.map((x) => x.delivery_id), a.map((x) => x.attempt), a.map((x) => x.started_at), a.map((x) => x.duration_ms), a.map((x) => x.status_code),
      a.map((x) => x.error), jsonTexts(a.map((x) => x.request_head + x.request_tail)),
      jsonTexts(a.map((x) => (x.response_headers === null ? null : JSON.stringify(x.response_headers)))), jsonTexts(a.map((x) => x.response_excerpt)),
      inOrder.map((r) => r.status), inOrder.map((r) => r.next_attempt_at), inOrder.map((r) => r.owner), now,
      targets, targets.map((t) => health.get(t)!.ok), targets.map((t) => health.get(t)!.failed), targets.map((t) => health.get(t)!.reason),
    ],
  };
}

/**
 * After settleStep, in the same transaction: in each line whose delivery settled for good
 * (succeeded or dead), the first unsettled row becomes due if it is queued — if it is pending or
 * delivering the line already has its head. Lines of results whose lease this process had lost
 * are looked at too: promoting a line whose first unsettled row is queued is right whoever
 * settled the row before it. One index probe per line (`ORDER BY event_seq LIMIT 1`), a plan
 * that stays a probe however young the database's statistics are.
 */
export function promoteStep(results: AttemptResult[], now: number): Step {
  const lines = [...new Map(results.filter((r) => r.status !== 'pending').map((r) => [`${r.order_key}\u0000${r.call_id}`, r])).values()];
  return {
    name: 'deliveries_promote',
    text: `UPDATE delivery_queue d SET status = 'pending', next_attempt_at = $3
       FROM unnest($1::text[], $2::text[]) AS l(order_key, call_id)
       CROSS JOIN LATERAL (
         SELECT q.id, q.status FROM delivery_queue q
         WHERE q.order_key = l.order_key AND q.call_id = l.call_id
         ORDER BY q.event_seq LIMIT 1) h
       WHERE h.status = 'queued' AND d.id = h.id`,
    values: [lines.map((r) => r.order_key), lines.map((r) => r.call_id), now],
  };
}

/**
 * Whether a line's earlier unsettled row exists: then a row handed back waits behind it
 * ('queued'), else it is the line's head ('pending'). One index probe per row (delivery_queue_in_order,
 * `LIMIT 1`), a plan that stays a probe. Within one statement every row is judged on the snapshot
 * before it, so handing back a whole chain (head and followers, claimStep) makes the head
 * pending and the rest queued.
 */
const HANDED_BACK_STATUS = `CASE WHEN EXISTS (
           SELECT 1 FROM delivery_queue e
           WHERE e.order_key = d.order_key AND e.call_id = d.call_id AND e.event_seq < d.event_seq
           LIMIT 1) THEN 'queued' ELSE 'pending' END`;

/**
 * A lease that ran out (its process died) puts the delivery back in line: the line's first
 * unsettled row becomes due, the followers a chain had taken wait behind it. Rows another
 * transaction holds are left for the next reap (a second later) rather than waited for.
 */
export function reapStep(now: number): Step {
  return {
    name: 'deliveries_reap',
    text: `UPDATE delivery_queue d SET status = ${HANDED_BACK_STATUS}, locked_by = NULL, locked_until = NULL, next_attempt_at = $1
       WHERE d.id IN (SELECT id FROM delivery_queue WHERE status = 'delivering' AND locked_until <= $1 FOR NO KEY UPDATE SKIP LOCKED)`,
    values: [now],
  };
}

/** Hands leased deliveries back (all of `owner`'s, or only `ids`): heads due, followers queued. */
export function releaseStep(owner: string, ids: string[] | null): Step {
  return {
    name: 'deliveries_release_some',
    text: `UPDATE delivery_queue d SET status = ${HANDED_BACK_STATUS}, locked_by = NULL, locked_until = NULL
       WHERE d.locked_by = $1 AND d.status = 'delivering' AND ($2::text[] IS NULL OR d.id = ANY($2::text[]))`,
    values: [owner, ids],
  };
}

/**
 * Target by target (issue 9): the targets with pending rows come from a loose scan of
 * delivery_queue_ready (one probe each), each target with free slots gives its earliest due rows
 * (skipping rows another claim or settle holds; FOR NO KEY UPDATE, so not the pending heads a
 * call write holds FOR KEY SHARE while it decides), and they are taken round-robin — every
 * target's first before anyone's second — up to LIMIT. A full or failing target's backlog is
 * never walked. Only the head of each call's line for a target is 'pending' (later ones
 * 'queued'). Read its rows with claimedFrom.
 *
 * Chains: with `followers` > 0, each head claimed brings up to that many of its line's queued
 * rows, in event order, under the same lease. The dispatcher sends them one after another as
 * each one before settles for good, without a round trip between (at 500 events/s a round per
 * event of a call cost ~7 ms each: a call's 5th event read p99 54–65 ms against 20–24 ms for
 * its 1st), and hands back the rest when one does not (releaseStep). No other process touches a
 * queued row (a call write locks only a line's first unsettled row; a promotion only updates
 * the first unsettled row, which is our head), so these rows are not skipped: a gap would break
 * the order.
 */
export function claimStep(owner: string, now: number, leaseUntil: number, limit: number, slots: Slots, followers: number): Step {
  const keys = [...slots.free.keys()];
  return {
    name: 'deliveries_claim',
    text: `WITH RECURSIVE k(key) AS (
       (SELECT order_key FROM delivery_queue WHERE status = 'pending' ORDER BY order_key LIMIT 1)
       UNION ALL
       SELECT (SELECT d.order_key FROM delivery_queue d WHERE d.status = 'pending' AND d.order_key > k.key ORDER BY d.order_key LIMIT 1)
       FROM k WHERE k.key IS NOT NULL),
     caps AS (
       SELECT k.key, LEAST($5::int, COALESCE(f.free, $6::int)) AS cap
       FROM k LEFT JOIN unnest($7::text[], $8::int[]) AS f(key, free) ON f.key = k.key
       WHERE k.key IS NOT NULL),
     picked AS (
       SELECT p.id, p.next_attempt_at, row_number() OVER (PARTITION BY caps.key ORDER BY p.next_attempt_at, p.id) AS rank
       FROM caps CROSS JOIN LATERAL (
         SELECT id, next_attempt_at FROM delivery_queue
         WHERE order_key = caps.key AND status = 'pending' AND next_attempt_at <= $3
         ORDER BY next_attempt_at, id LIMIT caps.cap
         FOR NO KEY UPDATE SKIP LOCKED) p
       WHERE caps.cap > 0),
     claimed AS (
       UPDATE delivery_queue d SET status = 'delivering', locked_by = $1, locked_until = $2
       FROM (SELECT id FROM picked ORDER BY rank, next_attempt_at, id LIMIT $4) s
       WHERE d.id = s.id
       RETURNING d.*),
     chained AS (
       UPDATE delivery_queue d SET status = 'delivering', locked_by = $1, locked_until = $2
       FROM (SELECT f.id FROM claimed c CROSS JOIN LATERAL (
               SELECT q.id FROM delivery_queue q
               WHERE q.order_key = c.order_key AND q.call_id = c.call_id AND q.status = 'queued'
               ORDER BY q.event_seq LIMIT $9) f) s
       -- the guard written so that no partial index matches it: \`d.status = 'queued'\` let the
       -- generic plan (made on a young table) read d through all of the in-order index, every
       -- queued, pending and delivering row and their dead versions, once per claim; at full
       -- speed a claim then took 30 ms on average, one 16 s (test/pg-pool.test.ts)
       WHERE d.id = s.id AND d.status || '' = 'queued'
       RETURNING d.*)
     -- the rest of the delivery from the log, the request from its own table (both written at enqueue)
     SELECT ${LOG_COLUMNS}, c.status, c.next_attempt_at, c.locked_by, c.locked_until, r.request
     FROM (SELECT * FROM claimed UNION ALL SELECT * FROM chained) c
     JOIN deliveries d ON d.id = c.id JOIN delivery_requests r ON r.delivery_id = c.id`,
    values: [owner, leaseUntil, now, limit, limit, slots.fallback, keys, keys.map((k) => slots.free.get(k)!), followers],
  };
}

/** A delivery's columns kept in the log only (the queue row has the rest while it is open). */
export const LOG_COLUMNS = `d.id, d.account_id, d.call_id, d.event_seq, d.event_type, d.event_name, d.target_format, d.target_id, d.order_key,
       d.attempts, d.created_at, d.updated_at, d.last_status_code, d.last_error`;

export function claimedFrom(rows: Row[]): Delivery[] {
  return rows.map(deliveryFromRow).sort((a, b) => a.next_attempt_at - b.next_attempt_at || (a.id < b.id ? -1 : 1));
}

/** Whether any result settles its delivery for good: then its line's next queued event becomes due. */
export function settlesForGood(results: AttemptResult[]): boolean {
  return results.some((r) => r.status !== 'pending');
}
