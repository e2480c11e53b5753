import { TEST_CALL_ID, type Attempt, type Delivery, type DeliveryFilter, type NewDelivery } from '../contract.ts';
import { attemptFromRow, deliveryFromRow } from '../rows.ts';
import { insertRequest, pair } from './calls.ts';
import type { Sql } from './db.ts';
import { openOfCall, WITH_REQUEST, withState } from './queue.ts';
import type { Scheduler } from './scheduler.ts';

/**
 * The delivery log's reads and manual retries. What is under way, due or waiting its turn is
 * the scheduler's to say (scheduler.ts); the rows say the rest.
 */


/** Timers' leases of an earlier run are void (one process per data directory). */
export function recoverLeases(db: Sql): void {
  db.run('UPDATE call_timers SET locked_by = NULL, locked_until = NULL WHERE locked_by IS NOT NULL');
}

export function getDelivery(db: Sql, sched: Scheduler, accountId: string, id: string): Delivery | undefined {
  const row = db.get(`${WITH_REQUEST} WHERE d.id = ? AND d.account_id = ?`, id, accountId);
  return row ? logState(sched, deliveryFromRow(row)) : undefined;
}

/** A stored delivery as the log shows it: in the queue's state, a chain's follower waiting (Scheduler.waitsBehind). */
function logState(sched: Scheduler, d: Delivery): Delivery {
  const e = sched.get(d.id);
  const shown = withState(d, e);
  return e && sched.waitsBehind(e) ? { ...shown, status: 'queued', locked_by: null, locked_until: null } : shown;
}

// The filters after the first term, one prepared statement for every combination of them.
const LIST_REST = `AND (? IS NULL OR d.id < ?) AND (? IS NULL OR d.target_id = ?)
       AND (? IS NULL
            OR (? = 'delivering' AND d.id IN (SELECT value FROM json_each(?)))
            OR (? IN ('pending', 'queued') AND d.status IN ('pending', 'queued', 'delivering') AND d.id NOT IN (SELECT value FROM json_each(?)))
            OR (? IN ('succeeded', 'dead') AND d.status = ?))
     ORDER BY d.id DESC LIMIT ?`;
const LIST_BY_ACCOUNT = `${WITH_REQUEST} WHERE d.account_id = ? ${LIST_REST}`;
/**
 * One call's deliveries through deliveries_by_call. The `+` keeps SQLite off deliveries_by_account:
 * without statistics both indexes look alike to it, and it would walk the account's whole
 * history in id order to find an old call's few deliveries (the console's call page).
 */
export const LIST_BY_CALL = `${WITH_REQUEST} WHERE d.call_id = ? AND +d.account_id = ? ${LIST_REST}`;

export function listDeliveries(db: Sql, sched: Scheduler, accountId: string, f: DeliveryFilter, limit: number, after: string | null): Delivery[] {
  // Stored rows are 'pending' until they succeed or die; which of them are under way now is the
  // scheduler's (at most a few hundred ids).
  const under = JSON.stringify(sched.deliveringIds());
  const status = f.status === 'queued' || f.status === 'delivering' ? f.status : f.status ?? null;
  const rest = [after, after, ...pair(f.target_id), status, status, under, status, under, status, status, limit];
  const rows = f.call_id === undefined
    ? db.all(LIST_BY_ACCOUNT, accountId, ...rest)
    : db.all(LIST_BY_CALL, f.call_id, accountId, ...rest);
  return rows.map((r) => logState(sched, deliveryFromRow(r)));
}

// the settled index needs its WHERE term repeated (housekeeping.ts COUNT_DEAD)
export const DEAD_DELIVERIES = `SELECT id FROM deliveries WHERE status IN ('succeeded', 'dead') AND status = 'dead' AND account_id = ? AND call_id <> '${TEST_CALL_ID}'
  AND (? IS NULL OR target_id = ?) AND (? IS NULL OR call_id = ?) ORDER BY call_id, event_seq LIMIT ?`;

export function deadDeliveries(db: Sql, accountId: string, f: Pick<DeliveryFilter, 'target_id' | 'call_id'>, limit: number): string[] {
  const t = f.target_id ?? null;
  const c = f.call_id ?? null;
  return db.all(DEAD_DELIVERIES, accountId, t, t, c, c, limit).map((r) => String(r.id));
}

export function listAttempts(db: Sql, deliveryIds: string[]): Attempt[] {
  if (deliveryIds.length === 0) return [];
  return db.all(
    'SELECT * FROM delivery_attempts WHERE delivery_id IN (SELECT value FROM json_each(?)) ORDER BY delivery_id, attempt',
    JSON.stringify(deliveryIds),
  ).map(attemptFromRow);
}

/**
 * Puts a delivery back in line, due now: a succeeded or dead one (it waits behind its call's
 * events that are still unsettled), or a pending one (its retry brought forward). Answers false
 * for one under way or waiting its turn, or unknown.
 */
export function retryDelivery(db: Sql, sched: Scheduler, accountId: string, id: string, now: number): boolean {
  const row = db.get('SELECT order_key, call_id, event_seq, status FROM deliveries WHERE id = ? AND account_id = ?', id, accountId);
  if (!row) return false;
  // One of a call that waits in the database (scheduler.ts Windows) is read back with its call
  // first; one that cannot be yet (its call was written a moment ago) is due now when it is.
  const key = String(row.order_key);
  if (row.status === 'pending' && sched.spilled(key, id)) {
    if (!sched.admitSpilled(key, id, openOfCall(db, key, String(row.call_id)), now)) {
      db.run('UPDATE deliveries SET next_attempt_at = ?, updated_at = ? WHERE id = ?', now, now, id);
      return true;
    }
  }
  if (sched.get(id)) {
    if (!sched.retry(id, now)) return false;
    db.run('UPDATE deliveries SET next_attempt_at = ?, updated_at = ? WHERE id = ?', now, now, id);
    return true;
  }
  db.run("UPDATE deliveries SET status = 'pending', next_attempt_at = ?, updated_at = ? WHERE id = ?", now, now, id);
  db.run('INSERT INTO deliveries_open (id) VALUES (?) ON CONFLICT DO NOTHING', id);
  sched.add({ id, order_key: String(row.order_key), call_id: String(row.call_id), event_seq: Number(row.event_seq), next_attempt_at: now });
  return true;
}

/** A test delivery, sent already: its settled row, request and one attempt; the scheduler never sees it. */
export function recordTestDelivery(db: Sql, d: NewDelivery, status: 'succeeded' | 'dead', a: Attempt, now: number): void {
  db.run(
    `INSERT INTO deliveries (id, account_id, call_id, event_seq, event_type, event_name, target_format, target_id, order_key,
                             status, attempts, next_attempt_at, created_at, updated_at, last_status_code, last_error, request_n)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)`,
    d.id, d.account_id, d.call_id, d.event_seq, d.event_type, d.event_name, d.target_format, d.target_id, d.order_key,
    status, now, d.created_at, now, a.status_code, a.error, insertRequest(db, d),
  );
  db.run(
    `INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, request, response_headers, response_excerpt)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    a.delivery_id, a.attempt, a.started_at, a.duration_ms, a.status_code, a.error, JSON.stringify(a.request),
    a.response_headers === null ? null : JSON.stringify(a.response_headers), a.response_excerpt,
  );
}
