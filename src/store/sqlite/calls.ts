import type { Call, CallEvent } from '../../calls/model.ts';
import type { CallFilter, CallWrite, IdempotentAnswer, NewDelivery, WriteOutcome } from '../contract.ts';
import { callFromRow, eventFromRow } from '../rows.ts';
import { Undo, type Param, type Sql } from './db.ts';
import { requestText } from './request-text.ts';
import type { Scheduler } from './scheduler.ts';

// Where an ingested event id may be: on its event, or in ingested_events (an id given without an
// event of its own, or stored before migration 0010).
const INGESTED = `SELECT call_id FROM call_events WHERE account_id = ? AND event_id = ?
  UNION ALL SELECT call_id FROM ingested_events WHERE account_id = ? AND event_id = ? LIMIT 1`;

/**
 * A call's new state, its new events and what they cause (timer, deliveries, keys), written
 * together. A refused write throws `Undo` with its outcome, having deleted the keys it inserted
 * first: it leaves nothing behind, so it runs without a savepoint of its own (Db.write,
 * `undoesItself`). Every refusal comes before the first statement that could not be undone so.
 */
export function writeCall(db: Sql, sched: Scheduler | null, w: CallWrite): WriteOutcome {
  const c = w.call;
  let keyInserted = false;
  // the ids kept in ingested_events by this write (those with no event of their own)
  const apart: string[] = [];
  const refuse = (outcome: Exclude<WriteOutcome, 'written'>): never => {
    for (const id of apart) db.run('DELETE FROM ingested_events WHERE account_id = ? AND event_id = ?', c.account_id, id);
    if (keyInserted) db.run('DELETE FROM idempotency_keys WHERE account_id = ? AND route = ? AND key = ?', c.account_id, w.idempotency!.route, w.idempotency!.key);
    throw new Undo<WriteOutcome>(outcome);
  };
  if (w.idempotency) {
    const i = w.idempotency;
    const n = db.run(
      'INSERT INTO idempotency_keys (account_id, route, key, request_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      c.account_id, i.route, i.key, i.request_hash, i.status, i.body, c.created_at,
    );
    if (n === 0) refuse('key_taken');
    keyInserted = true;
  }
  // An ingested event's id goes on the event it made (call_events.event_id, migration 0010):
  // looked up here in both places an id may be, written with the event below.
  const ids = w.ingest_event_ids ?? [];
  let idOfSeq: Map<number, string> | undefined;
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k]!;
    if (db.get(INGESTED, c.account_id, id, c.account_id, id) !== undefined) refuse('key_taken');
    const seq = w.ingest_seqs?.[k];
    if (seq !== undefined) {
      (idOfSeq ??= new Map()).set(seq, id);
      continue;
    }
    db.run('INSERT INTO ingested_events (account_id, event_id, call_id, created_at) VALUES (?, ?, ?, ?)', c.account_id, id, c.id, w.events[0]?.occurred_at ?? c.created_at);
    apart.push(id);
  }
  const doc = JSON.stringify(c);
  if (w.expected_version === null) {
    // The only unique key a new call can clash on is the account's external id (ids are new).
    const n = db.run(
      `INSERT INTO calls (id, account_id, kind, direction, from_number, to_number, status, outcome, channel_id, external_id, created_at, version, doc)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      c.id, c.account_id, c.kind, c.direction, c.from, c.to, c.status, c.outcome, c.channel_id, c.external_id, c.created_at, c.version, doc,
    );
    if (n === 0) refuse('call_exists');
  } else {
    const n = db.run('UPDATE calls SET status = ?, outcome = ?, version = ?, doc = ? WHERE id = ? AND version = ?',
      c.status, c.outcome, c.version, doc, c.id, w.expected_version);
    if (n === 0) refuse('stale');
  }
  for (const e of w.events) {
    db.run('INSERT INTO call_events (call_id, seq, account_id, type, leg, occurred_at, data, event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      e.call_id, e.seq, e.account_id, e.type, e.leg, e.occurred_at, JSON.stringify(e.data), idOfSeq?.get(e.seq) ?? null);
  }
  if (w.timer_due_at === null) {
    if (w.expected_version !== null) db.run('DELETE FROM call_timers WHERE call_id = ?', c.id);
  } else {
    // An unchanged, unclaimed timer is left as it is: no page written (a switch call's idle
    // timer moves by the minute, not with every event).
    db.run(
      `INSERT INTO call_timers (call_id, due_at, locked_by, locked_until) VALUES (?, ?, NULL, NULL)
       ON CONFLICT (call_id) DO UPDATE SET due_at = excluded.due_at, locked_by = NULL, locked_until = NULL
       WHERE call_timers.due_at <> excluded.due_at OR call_timers.locked_by IS NOT NULL`,
      c.id, w.timer_due_at,
    );
  }
  for (const d of w.deliveries) {
    // 'pending' until it succeeds or dies: whether it waits behind an earlier event of its call
    // is the scheduler's to track (scheduler.ts).
    db.run(
      `INSERT INTO deliveries (id, account_id, call_id, event_seq, event_type, event_name, target_format, target_id, order_key,
                               status, attempts, next_attempt_at, created_at, updated_at, request_n)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)`,
      d.id, d.account_id, d.call_id, d.event_seq, d.event_type, d.event_name, d.target_format, d.target_id, d.order_key,
      d.next_attempt_at, d.created_at, d.created_at, insertRequest(db, d),
    );
    db.run('INSERT INTO deliveries_open (id) VALUES (?)', d.id);
  }
  // Last, once every statement has run: a refused write leaves the queue as it was.
  if (sched) for (const d of w.deliveries) sched.add(d);
  return 'written';
}

/**
 * The rendered request, written once, before its deliveries row (migration 0012): its number,
 * which the row keeps as request_n. Its body as it is sent (rows.ts deliveryFromRow).
 */
export function insertRequest(db: Sql, d: NewDelivery): number {
  const r = d.request;
  return r.body === null
    ? db.insert('INSERT INTO delivery_bodies (request) VALUES (?)', JSON.stringify(r))
    : db.insert('INSERT INTO delivery_bodies (request, body) VALUES (?, ?)', requestText(r), r.body);
}

export function getCall(db: Sql, accountId: string | null, id: string): Call | undefined {
  const row = accountId === null
    ? db.get('SELECT doc FROM calls WHERE id = ?', id)
    : db.get('SELECT doc FROM calls WHERE id = ? AND account_id = ?', id, accountId);
  return row ? callFromRow(row) : undefined;
}

export function getCallByExternalId(db: Sql, accountId: string, externalId: string): Call | undefined {
  const row = db.get('SELECT doc FROM calls WHERE account_id = ? AND external_id = ?', accountId, externalId);
  return row ? callFromRow(row) : undefined;
}

// The filters after the first terms, one prepared statement for every combination of them.
const CALLS_REST = `AND (? IS NULL OR id < ?)
       AND (? IS NULL OR kind = ?) AND (? IS NULL OR direction = ?) AND (? IS NULL OR status = ?)
       AND (? IS NULL OR outcome = ?) AND (? IS NULL OR from_number = ?) AND (? IS NULL OR to_number = ?)
       AND (? IS NULL OR channel_id = ?)
     ORDER BY id DESC LIMIT ?`;
/**
 * A switch's call by its own id goes through calls_by_external_id; written as
 * `(? IS NULL OR external_id = ?)` the filter made SQLite walk the account's calls newest first.
 */
export const CALLS_BY_EXTERNAL_ID = `SELECT doc FROM calls WHERE account_id = ? AND external_id = ? ${CALLS_REST}`;
const CALLS_BY_ACCOUNT = `SELECT doc FROM calls WHERE account_id = ? ${CALLS_REST}`;

export function listCalls(db: Sql, accountId: string, f: CallFilter, limit: number, after: string | null): Call[] {
  const rest = [
    after, after, ...pair(f.kind), ...pair(f.direction), ...pair(f.status), ...pair(f.outcome), ...pair(f.from), ...pair(f.to),
    ...pair(f.channel_id), limit,
  ];
  const rows = f.external_id === undefined
    ? db.all(CALLS_BY_ACCOUNT, accountId, ...rest)
    : db.all(CALLS_BY_EXTERNAL_ID, accountId, f.external_id, ...rest);
  return rows.map(callFromRow);
}

export function liveCalls(db: Sql, driver: string): Call[] {
  return db.all("SELECT doc FROM calls WHERE status <> 'ended' AND json_extract(doc, '$.driver_state.driver') = ?", driver).map(callFromRow);
}

export function listEvents(db: Sql, callIds: string[]): CallEvent[] {
  if (callIds.length === 0) return [];
  return db.all('SELECT * FROM call_events WHERE call_id IN (SELECT value FROM json_each(?)) ORDER BY call_id, seq', JSON.stringify(callIds)).map(eventFromRow);
}

export function getIdempotent(db: Sql, accountId: string, route: string, key: string): IdempotentAnswer | undefined {
  const row = db.get('SELECT request_hash, status, body FROM idempotency_keys WHERE account_id = ? AND route = ? AND key = ?', accountId, route, key);
  return row ? { request_hash: String(row.request_hash), status: Number(row.status), body: String(row.body) } : undefined;
}

export function getIngested(db: Sql, accountId: string, eventId: string): string | undefined {
  const row = db.get(INGESTED, accountId, eventId, accountId, eventId);
  return row ? String(row.call_id) : undefined;
}

export function pair(v: string | undefined): [Param, Param] {
  return [v ?? null, v ?? null];
}
