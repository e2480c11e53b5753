import type { AttemptResult, Delivery, Slots } from '../contract.ts';
import { deliveryFromRow } from '../rows.ts';
import type { Sql } from './db.ts';

/**
 * The SQLite delivery queue's statements: claiming due deliveries and settling finished attempts
 * (with the promotion of the next queued event and the target's health). The store runs them
 * inside its transactions.
 */
// The targets (order keys) with pending deliveries, one index probe each on deliveries_ready
// (a loose index scan): the claim then costs one probe per target with work waiting, however
// many rows a full or failing target has piled up.
const TARGETS_WITH_WORK = `
  WITH RECURSIVE k(key) AS (
    SELECT (SELECT order_key FROM deliveries WHERE status = 'pending' ORDER BY order_key LIMIT 1)
    UNION ALL
    SELECT (SELECT order_key FROM deliveries WHERE status = 'pending' AND order_key > k.key ORDER BY order_key LIMIT 1) FROM k WHERE k.key IS NOT NULL
  ) SELECT key FROM k WHERE key IS NOT NULL`;

export function claimDue(db: Sql, owner: string, now: number, leaseUntil: number, limit: number, slots: Slots, reap: boolean): Delivery[] {
  if (reap) {
    // A lease that ran out (its process died) puts the delivery back in line: an index probe,
    // empty nearly always.
    db.run(
      "UPDATE deliveries SET status = 'pending', locked_by = NULL, locked_until = NULL, next_attempt_at = ? WHERE status = 'delivering' AND locked_until <= ?",
      now, now,
    );
  }
  // Only the head of each call's line for a target is 'pending' (later ones are 'queued'). Each
  // target with free slots gives its earliest due rows; they are taken round-robin (every
  // target's first before anyone's second), so one busy target cannot crowd out the others.
  const picks: { id: string; at: number; rank: number }[] = [];
  for (const row of db.all(TARGETS_WITH_WORK)) {
    const key = String(row.key);
    const cap = Math.min(limit, slots.free.get(key) ?? slots.fallback);
    if (cap <= 0) continue;
    const due = db.all(
      "SELECT id, next_attempt_at FROM deliveries WHERE order_key = ? AND status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
      key, now, cap,
    );
    due.forEach((d, rank) => picks.push({ id: String(d.id), at: Number(d.next_attempt_at), rank }));
  }
  if (picks.length === 0) return [];
  picks.sort((a, b) => a.rank - b.rank || a.at - b.at || (a.id < b.id ? -1 : 1));
  const ids = picks.slice(0, limit).map((p) => p.id);
  const rows = db.all(
    `UPDATE deliveries SET status = 'delivering', locked_by = ?, locked_until = ?
     WHERE id IN (SELECT value FROM json_each(?)) AND status = 'pending'
     RETURNING *`,
    owner, leaseUntil, JSON.stringify(ids),
  );
  // The requests, written once at enqueue and never rewritten (slim rows).
  const requests = new Map(db.all('SELECT delivery_id, request FROM delivery_requests WHERE delivery_id IN (SELECT value FROM json_each(?))', JSON.stringify(ids))
    .map((r) => [String(r.delivery_id), r.request]));
  for (const r of rows) r.request = requests.get(String(r.id));
  return rows.map(deliveryFromRow).sort((a, b) => a.next_attempt_at - b.next_attempt_at || (a.id < b.id ? -1 : 1));
}

export function settleAttempts(db: Sql, results: AttemptResult[], now: number): void {
  for (const r of results) {
    const a = r.attempt;
    db.run(
      `INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, request, response_headers, response_excerpt)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      a.delivery_id, a.attempt, a.started_at, a.duration_ms, a.status_code, a.error, JSON.stringify(a.request),
      a.response_headers === null ? null : JSON.stringify(a.response_headers), a.response_excerpt,
    );
    // The owner guard: a process whose lease ran out cannot overwrite its successor's work.
    const settled = db.run(
      `UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, locked_by = NULL, locked_until = NULL,
              updated_at = ?, last_status_code = ?, last_error = ?
       WHERE id = ? AND locked_by = ?`,
      r.status, a.attempt, r.next_attempt_at, now, a.status_code, a.error, a.delivery_id, r.owner,
    );
    if (settled > 0 && r.status !== 'pending') promote(db, r.order_key, r.call_id, now);
    targetHealth(db, r, now);
  }
}

/** The next queued event of a call for a target becomes due once the one before it settled. */
function promote(db: Sql, orderKey: string, callId: string, now: number): void {
  db.run(
    `UPDATE deliveries SET status = 'pending', next_attempt_at = ?, updated_at = ?
     WHERE id = (SELECT id FROM deliveries WHERE order_key = ? AND call_id = ? AND status = 'queued' ORDER BY event_seq LIMIT 1)
       AND NOT EXISTS (SELECT 1 FROM deliveries WHERE order_key = ? AND call_id = ? AND status IN ('pending', 'delivering'))`,
    now, now, orderKey, callId, orderKey, callId,
  );
}

function targetHealth(db: Sql, r: AttemptResult, now: number): void {
  const t = r.target;
  if (t.success) {
    db.run('UPDATE resources SET last_success_at = ?, failing_since = NULL WHERE id = ? AND (failing_since IS NOT NULL OR last_success_at IS NULL OR last_success_at < ? - 60000)', now, t.id, now);
    return;
  }
  db.run('UPDATE resources SET failing_since = ? WHERE id = ? AND failing_since IS NULL', now, t.id);
  if (t.disable_reason !== undefined) {
    db.run('UPDATE resources SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ? AND enabled = 1', t.disable_reason, now, t.id);
  }
}
