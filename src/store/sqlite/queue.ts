import type { AttemptResult, Claimed, Slots } from '../contract.ts';
import { freshDelivery, type KeptOffers } from './packed-offers.ts';
import { F, FIELDS, type PackedResults } from './packed-results.ts';
import { deliveryFromRow, type Row } from '../rows.ts';
import type { Sql } from './db.ts';
import type { Entry, EntryKeys, RowKeys, Settlement } from './entries.ts';
import type { Scheduler } from './scheduler.ts';

/**
 * The SQLite delivery queue: claims come from the in-memory scheduler (scheduler.ts says why);
 * the database is written only when an attempt finishes — its attempt row, the delivery's new
 * status, and the target's health, for a whole batch of results in one group commit.
 */

// A delivery's row and its request, written once into delivery_bodies (slim rows; migration
// 0012); its body apart (rows.ts deliveryFromRow). Every read of whole deliveries starts from this.
export const WITH_REQUEST = 'SELECT d.*, r.request, r.body FROM deliveries d JOIN delivery_bodies r ON r.n = d.request_n';
const ROWS_BY_ID = `${WITH_REQUEST} WHERE d.id IN (SELECT value FROM json_each(?))`;

/**
 * The claimed entries as deliveries: their rows and requests read in one statement, except the
 * first claim of a delivery the writer handed over in memory (`fresh`, split mode): nothing of it
 * has changed since it was written, and the read would cost more than the rest of the claim
 * (each commit of the other connection empties this one's page cache).
 */
export function claimDue(
  db: Sql, sched: Scheduler, owner: string, now: number, leaseUntil: number, limit: number, slots: Slots, reap: boolean,
  fresh?: KeptOffers, followers = 0,
): Claimed[] {
  for (const key of sched.refillsDue(now)) refill(db, sched, key, now);
  const claimed = sched.claim(owner, now, leaseUntil, limit, slots, reap, followers);
  if (claimed.length === 0) return [];
  const out: (Claimed | undefined)[] = new Array(claimed.length);
  let missing: string[] | undefined;
  for (let i = 0; i < claimed.length; i++) {
    const e = claimed[i]!;
    const f = fresh?.take(e.id);
    if (f === undefined) (missing ??= []).push(e.id);
    else out[i] = freshDelivery(e, f);
  }
  if (missing) {
    const read = new Map<string, Claimed>();
    for (const r of db.all(ROWS_BY_ID, JSON.stringify(missing))) read.set(String(r.id), deliveryFromRow(r));
    for (let i = 0; i < claimed.length; i++) {
      const e = claimed[i]!;
      if (out[i] !== undefined) continue;
      const d = read.get(e.id);
      if (d) out[i] = withState(d, e);
    }
  }
  return missing ? out.filter((d) => d !== undefined) : (out as Claimed[]);
}

/** A stored delivery as the scheduler sees it now (under way, waiting its turn, or due). */
export function withState<D extends Claimed>(d: D, e: Entry | undefined): D {
  if (!e) return d;
  // The attempts the queue has seen may be ahead of the row's: a retry due at once is claimed
  // before the group commit that records the attempt before it.
  return {
    ...d, status: e.state, locked_by: e.owner, locked_until: e.lease_until, attempts: Math.max(d.attempts, e.attempts),
    next_attempt_at: e.state === 'queued' ? d.next_attempt_at : e.next_at,
  };
}

/**
 * The owner guard, in memory: which results come from the holder of the lease (a holder whose
 * lease ran out cannot overwrite its successor's work), and what each does to the queue.
 */
export function guard(sched: Scheduler, results: AttemptResult[]): Settlement[] {
  const settled: Settlement[] = [];
  for (const r of results) {
    const id = r.attempt.delivery_id;
    if (sched.holds(id, r.owner)) settled.push({ id, owner: r.owner, status: r.status, next_at: r.next_attempt_at, attempt: r.attempt.attempt });
  }
  return settled;
}

/**
 * Records a batch of finished attempts: every attempt, the new status of the deliveries in
 * `held` (those that passed the guard), and the targets' health. Needs no scheduler, so the
 * thread that writes (split mode: the API thread) can run it for the one that holds the queue.
 */
export function writeResults(db: Sql, p: PackedResults, held: ReadonlySet<string>, now: number): void {
  for (let o = 0; o < p.length; o += FIELDS) {
    const id = p[o + F.delivery_id] as string;
    db.run(
      `INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, request, response_headers, response_excerpt)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      id, p[o + F.attempt] as number, p[o + F.started_at] as number, p[o + F.duration_ms] as number, p[o + F.status_code] as number | null,
      p[o + F.error] as string | null, (p[o + F.request_head] as string) + (p[o + F.request_tail] as string), p[o + F.response_headers] as string | null, p[o + F.response_excerpt] as string | null,
    );
    if (!held.has(id)) continue;
    const status = p[o + F.status] as string;
    db.run(
      `UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, updated_at = ?, last_status_code = ?, last_error = ?
       WHERE id = ?`,
      status, p[o + F.attempt] as number, p[o + F.next_attempt_at] as number, now, p[o + F.status_code] as number | null, p[o + F.error] as string | null, id,
    );
    if (status !== 'pending') db.run('DELETE FROM deliveries_open WHERE id = ?', id);
  }
  targetHealth(db, p, now);
}

/**
 * Once per target per batch: a success refreshes last_success_at (at most once a minute) and
 * clears failing_since; failing_since follows the target's last result; a disable reason
 * disables it.
 */
function targetHealth(db: Sql, p: PackedResults, now: number): void {
  const last = new Map<string, boolean>();
  const ok = new Set<string>();
  for (let o = 0; o < p.length; o += FIELDS) {
    const id = p[o + F.target_id] as string;
    const success = p[o + F.success] as boolean;
    last.set(id, success);
    if (success) ok.add(id);
  }
  for (const id of ok) {
    db.run('UPDATE resources SET last_success_at = ?, failing_since = NULL WHERE id = ? AND (failing_since IS NOT NULL OR last_success_at IS NULL OR last_success_at < ? - 60000)', now, id, now);
  }
  for (const [id, success] of last) {
    if (!success) db.run('UPDATE resources SET failing_since = ? WHERE id = ? AND failing_since IS NULL', now, id);
  }
  for (let o = 0; o < p.length; o += FIELDS) {
    const reason = p[o + F.disable_reason];
    if (reason !== null) db.run('UPDATE resources SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ? AND enabled = 1', reason as string, now, p[o + F.target_id] as string);
  }
}

const keys = (r: Row): EntryKeys => ({ id: String(r.id), order_key: String(r.order_key), call_id: String(r.call_id), event_seq: Number(r.event_seq), next_attempt_at: Number(r.next_attempt_at) });

/**
 * Every unsettled delivery, to rebuild the scheduler at start: row by row, so a backlog of
 * 100,000 is never also held as one array of rows while the queue is built; in the open set's
 * order, not line order: the scheduler puts each in its line (Scheduler.add, `rebuild`).
 * Sorted in SQL (ORDER BY order_key, call_id, event_seq) the 100,000 rows took a sorter of
 * ~10 MB in memory (temp_store = MEMORY), whose pages the process kept: RSS 169 against 159 MB
 * after the rebuild (issue 10 item 5 bounds RSS with such a backlog).
 */
export function loadQueue(db: Sql, sched: Scheduler): void {
  const rows = db.each('SELECT d.id, d.order_key, d.call_id, d.event_seq, d.next_attempt_at FROM deliveries_open o JOIN deliveries d ON d.id = o.id');
  for (const r of rows) sched.add(keys(r), true);
}

// CROSS JOIN: the open set is the outer loop (SQLite keeps that order), never the deliveries
// table, which holds every delivery kept for the log.
export const OPEN_OF_TARGET = 'SELECT d.id, d.call_id FROM deliveries_open o CROSS JOIN deliveries d ON d.id = o.id WHERE d.order_key = ?';
export const OPEN_OF_CALL = `SELECT d.id, d.order_key, d.call_id, d.event_seq, d.next_attempt_at, d.created_at FROM deliveries d
                      WHERE d.call_id = ? AND d.order_key = ? AND d.id IN (SELECT id FROM deliveries_open)`;

/**
 * A spilled target's calls read back from the rows (Scheduler.refill, Windows): its open rows in
 * the open set's order (ids: oldest first), each new call whole through the index by call.
 * The scan stops once the window is full, so a dead target's refill reads about a window's rows.
 */
export function refill(db: Sql, sched: Scheduler, key: string, now: number): void {
  const open = db.each(OPEN_OF_TARGET, key) as Iterable<{ id: string; call_id: string }>;
  sched.refill(key, now, open, (callId) => openOfCall(db, key, callId));
}

/** A call's open rows for one target, as a refill (or a manual retry) reads them back. */
export function openOfCall(db: Sql, key: string, callId: string): RowKeys[] {
  return db.all(OPEN_OF_CALL, callId, key).map((r) => ({ ...keys(r), created_at: Number(r.created_at) }));
}
