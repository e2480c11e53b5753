import type { Attempt, Delivery, DeliveryFilter } from '../contract.ts';
import { attemptFromRow, deliveryFromRow } from '../rows.ts';
import { pair } from './calls.ts';
import type { Sql } from './db.ts';

/** The delivery log's reads and the queue's bookkeeping outside claims and settles (queue.ts). */

// A delivery's row and its request, written once into delivery_requests (issue 10, slim rows).
const WITH_REQUEST = 'SELECT d.*, r.request FROM deliveries d JOIN delivery_requests r ON r.delivery_id = d.id';

export function nextDeliveryDue(db: Sql, now: number): number | null {
  const a = db.get("SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE status = 'pending' AND next_attempt_at > ?", now);
  const b = db.get("SELECT MIN(locked_until) AS t FROM deliveries WHERE status = 'delivering' AND locked_until > ?", now);
  const ts = [a?.t, b?.t].filter((t) => t !== null && t !== undefined).map(Number);
  return ts.length ? Math.min(...ts) : null;
}

export function releaseDeliveries(db: Sql, owner: string, now: number, ids?: string[]): void {
  db.run(
    `UPDATE deliveries SET status = 'pending', locked_by = NULL, locked_until = NULL, updated_at = ?
     WHERE locked_by = ? AND status = 'delivering' AND (? IS NULL OR id IN (SELECT value FROM json_each(?)))`,
    now, owner, ids === undefined ? null : 1, JSON.stringify(ids ?? []),
  );
}

/** SQLite serves one process per data directory: every lease of an earlier run is void. */
export function recoverLeases(db: Sql, now: number): void {
  db.run('UPDATE call_timers SET locked_by = NULL, locked_until = NULL WHERE locked_by IS NOT NULL');
  db.run("UPDATE deliveries SET status = 'pending', locked_by = NULL, locked_until = NULL, updated_at = ? WHERE status = 'delivering'", now);
}

export function getDelivery(db: Sql, accountId: string, id: string): Delivery | undefined {
  const row = db.get(`${WITH_REQUEST} WHERE d.id = ? AND d.account_id = ?`, id, accountId);
  return row ? deliveryFromRow(row) : undefined;
}

export function listDeliveries(db: Sql, accountId: string, f: DeliveryFilter, limit: number, after: string | null): Delivery[] {
  return db.all(
    `${WITH_REQUEST}
     WHERE d.account_id = ? AND (? IS NULL OR d.id < ?) AND (? IS NULL OR d.call_id = ?) AND (? IS NULL OR d.target_id = ?)
       AND (? IS NULL OR d.status = ? OR (? = 'pending' AND d.status = 'queued'))
     ORDER BY d.id DESC LIMIT ?`,
    accountId, after, after, ...pair(f.call_id), ...pair(f.target_id), ...pair(f.status), f.status ?? null, limit,
  ).map(deliveryFromRow);
}

export function listAttempts(db: Sql, deliveryIds: string[]): Attempt[] {
  if (deliveryIds.length === 0) return [];
  return db.all(
    'SELECT * FROM delivery_attempts WHERE delivery_id IN (SELECT value FROM json_each(?)) ORDER BY delivery_id, attempt',
    JSON.stringify(deliveryIds),
  ).map(attemptFromRow);
}

export function retryDelivery(db: Sql, accountId: string, id: string, now: number): boolean {
  return db.run(
    "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, updated_at = ? WHERE id = ? AND account_id = ? AND status IN ('succeeded', 'dead', 'pending')",
    now, now, id, accountId,
  ) > 0;
}
