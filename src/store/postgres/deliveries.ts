import { TEST_CALL_ID, type Attempt, type Delivery, type DeliveryFilter, type NewDelivery } from '../contract.ts';
import { attemptFromRow, deliveryFromRow } from '../rows.ts';
import { LOG_COLUMNS, releaseStep } from './queue.ts';
import { countOf, rowsOf, type Client } from './sql.ts';

/**
 * A leased queue row behind an earlier row of its line under the same lease: a chain's follower
 * (claims lease a head's queued followers with it), sent only once the rows before it are done.
 * The log shows it as waiting for an earlier event, not as under way. The same lease, not any
 * earlier row (queue.ts HANDED_BACK_STATUS): an earlier event retried by hand while a later one
 * is being sent leaves the later one under way. Through delivery_queue_in_order, one probe.
 */
export const BEHIND = `EXISTS (SELECT 1 FROM delivery_queue e
  WHERE e.order_key = q.order_key AND e.call_id = q.call_id AND e.event_seq < q.event_seq AND e.locked_by = q.locked_by)`;
/** a delivery's status as the log shows it: its queue row's while open (a follower: queued), else its log row's */
const STATUS = `CASE WHEN f.behind THEN 'queued' ELSE COALESCE(q.status, d.status) END`;

/**
 * The delivery log on PostgreSQL and the queue's smaller operations: when the next delivery
 * falls due, handing leases back, manual retry. Claims and settles are in queue.ts.
 *
 * A delivery is read from its log row and, while it is open, its queue row (delivery_queue:
 * status, next attempt, lease), a pkey probe each; whether it is a chain's follower (BEHIND) is worked out once per row (f).
 */
const READ = `SELECT ${LOG_COLUMNS}, ${STATUS} AS status, COALESCE(q.next_attempt_at, d.next_attempt_at) AS next_attempt_at,
       CASE WHEN f.behind THEN NULL ELSE q.locked_by END AS locked_by, CASE WHEN f.behind THEN NULL ELSE q.locked_until END AS locked_until, r.request
     FROM deliveries d JOIN delivery_requests r ON r.delivery_id = d.id LEFT JOIN delivery_queue q ON q.id = d.id
     LEFT JOIN LATERAL (SELECT q.status = 'delivering' AND ${BEHIND} AS behind) f ON true`;

export async function nextDeliveryDue(c: Client, now: number): Promise<number | null> {
  const rows = await rowsOf(c, 'deliveries_next_after',
    `SELECT LEAST((SELECT MIN(next_attempt_at) FROM delivery_queue WHERE status = 'pending' AND next_attempt_at > $1),
                  (SELECT MIN(locked_until) FROM delivery_queue WHERE status = 'delivering' AND locked_until > $1)) AS t`, [now]);
  return rows[0]?.t === null || rows[0]?.t === undefined ? null : Number(rows[0].t);
}

export async function releaseDeliveries(c: Client, owner: string, ids?: string[]): Promise<void> {
  const s = releaseStep(owner, ids ?? null);
  await countOf(c, s.name, s.text, s.values);
}

export async function getDelivery(c: Client, accountId: string, id: string): Promise<Delivery | undefined> {
  const rows = await rowsOf(c, 'delivery_get', `${READ} WHERE d.id = $1 AND d.account_id = $2`, [id, accountId]);
  return rows[0] ? deliveryFromRow(rows[0]) : undefined;
}

// A call's deliveries (the console's call page) by their own statement through deliveries_by_call:
// written as `($3 IS NULL OR d.call_id = $3)` in one named statement, a generic plan cannot use
// that index and walks the account's deliveries newest first until it has found the call's.
const LIST_REST = `AND ($2::text IS NULL OR d.id < $2) AND ($4::text IS NULL OR d.target_id = $4)
       AND ($5::text IS NULL OR ${STATUS} IN ($5, CASE WHEN $5 = 'pending' THEN 'queued' END))
     ORDER BY d.id DESC LIMIT $6`;

export async function listDeliveries(c: Client, accountId: string, f: DeliveryFilter, limit: number, after: string | null): Promise<Delivery[]> {
  const byCall = f.call_id !== undefined;
  const rows = await rowsOf(c, byCall ? 'deliveries_list_call' : 'deliveries_list',
    `${READ}
     WHERE d.account_id = $1 AND ${byCall ? 'd.call_id = $3' : '$3::text IS NULL'} ${LIST_REST}`,
    [accountId, after, f.call_id ?? null, f.target_id ?? null, f.status ?? null, limit]);
  return rows.map(deliveryFromRow);
}

export async function deadDeliveries(c: Client, accountId: string, f: Pick<DeliveryFilter, 'target_id' | 'call_id'>, limit: number): Promise<string[]> {
  const rows = await rowsOf(c, 'deliveries_dead',
    `SELECT id FROM deliveries WHERE status = 'dead' AND account_id = $1 AND call_id <> '${TEST_CALL_ID}'
       AND ($2::text IS NULL OR target_id = $2) AND ($3::text IS NULL OR call_id = $3) ORDER BY call_id, event_seq LIMIT $4`,
    [accountId, f.target_id ?? null, f.call_id ?? null, limit]);
  return rows.map((r) => String(r.id));
}

export async function listAttempts(c: Client, deliveryIds: string[]): Promise<Attempt[]> {
  if (deliveryIds.length === 0) return [];
  const rows = await rowsOf(c, 'attempts_list', 'SELECT * FROM delivery_attempts WHERE delivery_id = ANY($1::text[]) ORDER BY delivery_id, attempt', [deliveryIds]);
  return rows.map(attemptFromRow);
}

/**
 * Puts a settled delivery back in the queue, or a waiting one's next attempt to now; false if it
 * is being attempted now or waits behind an earlier event. The queue row is probed first, under
 * its lock (a claim that took it meanwhile leaves the UPDATE nothing), then the log row. A
 * settled one goes back behind its line's earlier unsettled row, if any ('queued', promoted
 * when that row settles), else due now: retried as 'pending' beside it, event N+1 could go
 * before N (a recovery of a call's dead deliveries did so). The earlier row is locked FOR KEY
 * SHARE, as a call write does (calls.ts): a settle of it that commits meanwhile is waited for
 * and its row skipped, so we never queue behind a row whose promotion has already run.
 */
export async function retryDelivery(c: Client, accountId: string, id: string, now: number): Promise<boolean> {
  const n = await countOf(c, 'delivery_retry',
    `WITH waiting AS (
       UPDATE delivery_queue SET next_attempt_at = $1
       WHERE id = $2 AND status = 'pending' AND EXISTS (SELECT 1 FROM deliveries WHERE id = $2 AND account_id = $3)
       RETURNING id),
     logged AS (
       UPDATE deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $1
       WHERE id = $2 AND account_id = $3 AND (status IN ('succeeded', 'dead') OR id IN (SELECT id FROM waiting))
       RETURNING id, order_key, call_id, event_seq),
     busy AS MATERIALIZED (
       SELECT h.id FROM logged l CROSS JOIN LATERAL (
         SELECT p.id FROM delivery_queue p
         WHERE p.order_key = l.order_key AND p.call_id = l.call_id AND p.event_seq < l.event_seq
         ORDER BY p.event_seq LIMIT 1
         FOR KEY SHARE) h),
     queued AS (
       INSERT INTO delivery_queue (id, order_key, call_id, event_seq, status, next_attempt_at)
       SELECT id, order_key, call_id, event_seq, CASE WHEN EXISTS (SELECT 1 FROM busy) THEN 'queued' ELSE 'pending' END, $1
       FROM logged WHERE id NOT IN (SELECT id FROM waiting)
       ON CONFLICT (id) DO NOTHING)
     SELECT id FROM logged`,
    [now, id, accountId]);
  return n > 0;
}

/** A test delivery, sent already: its settled row, request and one attempt, in one statement; never claimed. */
export async function recordTestDelivery(c: Client, d: NewDelivery, status: 'succeeded' | 'dead', a: Attempt, now: number): Promise<void> {
  await countOf(c, 'deliveries_record_test',
    `WITH dels AS (
       INSERT INTO deliveries (id, account_id, call_id, event_seq, event_type, event_name, target_format, target_id, order_key,
                               status, attempts, next_attempt_at, created_at, updated_at, last_status_code, last_error)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $11, $13, $14)),
     requests AS (INSERT INTO delivery_requests (delivery_id, request) VALUES ($1, $15))
     INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, request, response_headers, response_excerpt)
     VALUES ($1, $16, $17, $18, $13, $14, $19, $20, $21)`,
    [d.id, d.account_id, d.call_id, d.event_seq, d.event_type, d.event_name, d.target_format, d.target_id, d.order_key, status, now, d.created_at,
      a.status_code, a.error, JSON.stringify(d.request), a.attempt, a.started_at, a.duration_ms, JSON.stringify(a.request),
      a.response_headers === null ? null : JSON.stringify(a.response_headers), a.response_excerpt]);
}
