import type { Call, CallEvent } from '../../calls/model.ts';
import type { CallFilter, CallWrite, IdempotentAnswer, WriteOutcome } from '../contract.ts';
import { callFromRow, eventFromRow } from '../rows.ts';
import { byLine, isDuplicateIn, rowsOf, type Client } from './sql.ts';

/**
 * A call's new state, its events and what they cause, as ONE statement: a chain of
 * data-modifying CTEs, atomic by itself (no BEGIN/COMMIT: one round trip instead of the 8–10 of
 * a transaction of separate statements). What the chain must get right:
 *
 * - Everything hangs off `ok`, the call row written: inserted (`ON CONFLICT DO NOTHING`: a taken
 *   id or external id leaves `ok` empty, 'call_exists') or updated under the version guard
 *   (nothing updated, 'stale'). Every other part writes only `FROM ok`, so a refused write
 *   writes nothing.
 * - The version guard holds although every CTE reads one snapshot, taken when the statement
 *   began: an UPDATE that meets a row changed by a transaction that committed after that
 *   snapshot waits for it and re-checks its WHERE on the newest version (READ COMMITTED), so a
 *   concurrent writer of the call makes this one 'stale'. Every writer of a call passes this
 *   guard, so once `ok` has a row no other write of this call's events or deliveries can have
 *   happened since the snapshot: the new seqs are free.
 * - Idempotency keys and ingested event ids are plain INSERTs, written after the call: a taken
 *   key fails the statement with a duplicate key in that table, which rolls back the call row
 *   and everything else ('key_taken').
 * - Queued or pending: a new delivery waits ('queued') behind an unsettled delivery of the same
 *   call and target (a line). Read from the snapshot alone that is wrong when a settle of that
 *   earlier delivery commits after the snapshot: we would queue behind a row already settled,
 *   whose settle has already looked for queued rows to promote and missed ours — it would wait
 *   for ever. So `busy` locks the first unsettled row of each line FOR KEY SHARE. A row a settle
 *   has locked (FOR UPDATE, queue.ts) makes us wait for that settle to commit, and a locked row
 *   is re-read at its newest version: a settled one is skipped for the next unsettled row, if
 *   any. A settle that comes after our lock waits for our commit, and its promotion (a later
 *   statement of its transaction, with a later snapshot) sees our queued row. Both sides lock in
 *   line order (order key, call, event seq), so they cannot deadlock. FOR KEY SHARE does not
 *   conflict with the claim's, promotion's or reap's updates, so those never wait on a call
 *   write. Deliveries of one write in the same line follow each other (`follows`): rows of one
 *   statement cannot see each other.
 * - Plans: the statement is prepared once per connection and its generic plan reused. `busy`
 *   probes each line with `ORDER BY event_seq LIMIT 1`, which keeps it an index probe per line;
 *   a join of the lines with the unsettled rows was planned (on a young database) as a scan of
 *   every unsettled row, 10 ms per write under a backlog of ~28,000.
 *
 * Answers the outcome and how many of the new deliveries are due now ('pending').
 */
export async function writeCall(c: Client, w: CallWrite): Promise<{ outcome: WriteOutcome; due: number }> {
  const call = w.call;
  const i = w.idempotency;
  const e = w.events;
  const d = w.deliveries;
  const seen = new Set<string>();
  const follows = d.map((x) => {
    const line = `${x.order_key}\u0000${x.call_id}`;
    const f = seen.has(line);
    seen.add(line);
    return f;
  });
  // The lines in the order both sides lock them (sql.ts byLine).
  const lines = [...new Map(d.map((x) => [`${x.order_key}\u0000${x.call_id}`, x])).values()].sort(byLine);
  let rows;
  try {
    rows = await rowsOf(c, 'call_write',
      `WITH ins AS (
         INSERT INTO calls (id, account_id, kind, direction, from_number, to_number, status, outcome, channel_id, external_id, created_at, version, doc)
         SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, $10::text, $11::bigint, $12::int, $13::text
         WHERE $14::int IS NULL
         ON CONFLICT DO NOTHING
         RETURNING id),
       upd AS (
         UPDATE calls SET status = $7::text, outcome = $8::text, version = $12::int, doc = $13::text
         WHERE id = $1::text AND version = $14::int
         RETURNING id),
       ok AS (SELECT id FROM ins UNION ALL SELECT id FROM upd),
       idem AS (
         INSERT INTO idempotency_keys (account_id, route, key, request_hash, status, body, created_at)
         SELECT $2::text, $15::text, $16::text, $17::text, $18::int, $19::text, $11::bigint FROM ok WHERE $16::text IS NOT NULL),
       ingest AS (
         INSERT INTO ingested_events (account_id, event_id, call_id, created_at)
         SELECT $2::text, x.id, $1::text, $21::bigint FROM ok, unnest($20::text[]) AS x(id)),
       events AS (
         INSERT INTO call_events (call_id, seq, account_id, type, leg, occurred_at, data)
         SELECT x.* FROM ok, unnest($22::text[], $23::int[], $24::text[], $25::text[], $26::text[], $27::bigint[], $28::text[]) AS x),
       timer_set AS (
         INSERT INTO call_timers (call_id, due_at, locked_by, locked_until)
         SELECT $1::text, $29::bigint, NULL, NULL FROM ok WHERE $29::bigint IS NOT NULL
         ON CONFLICT (call_id) DO UPDATE SET due_at = excluded.due_at, locked_by = NULL, locked_until = NULL),
       timer_clear AS (
         DELETE FROM call_timers WHERE call_id = $1::text AND $29::bigint IS NULL AND EXISTS (SELECT 1 FROM ok)),
       t AS (
         SELECT * FROM unnest($30::text[], $31::text[], $32::text[], $33::int[], $34::text[], $35::text[], $36::text[], $37::text[], $38::text[],
                              $39::bigint[], $40::bigint[], $41::bool[], $42::text[])
           AS t(id, account_id, call_id, event_seq, event_type, event_name, target_format, target_id, order_key, next_attempt_at, created_at, follows, request)),
       busy AS MATERIALIZED (
         SELECT l.order_key, l.call_id
         FROM unnest($43::text[], $44::text[]) AS l(order_key, call_id)
         CROSS JOIN LATERAL (
           SELECT p.id FROM deliveries p
           WHERE p.order_key = l.order_key AND p.call_id = l.call_id AND p.status IN ('queued', 'pending', 'delivering')
           ORDER BY p.event_seq LIMIT 1
           FOR KEY SHARE) h
         WHERE EXISTS (SELECT 1 FROM ok)),
       dels AS (
         INSERT INTO deliveries (id, account_id, call_id, event_seq, event_type, event_name, target_format, target_id, order_key,
                                 status, attempts, next_attempt_at, created_at, updated_at)
         SELECT t.id, t.account_id, t.call_id, t.event_seq, t.event_type, t.event_name, t.target_format, t.target_id, t.order_key,
                CASE WHEN t.follows OR EXISTS (SELECT 1 FROM busy b WHERE b.order_key = t.order_key AND b.call_id = t.call_id)
                     THEN 'queued' ELSE 'pending' END,
                0, t.next_attempt_at, t.created_at, t.created_at
         FROM ok, t
         RETURNING status),
       requests AS (
         INSERT INTO delivery_requests (delivery_id, request) SELECT t.id, t.request FROM ok, t)
       SELECT (SELECT count(*) FROM ok) AS written, (SELECT count(*) FROM dels WHERE status = 'pending') AS due`,
      [call.id, call.account_id, call.kind, call.direction, call.from, call.to, call.status, call.outcome, call.channel_id, call.external_id,
        call.created_at, call.version, JSON.stringify(call), w.expected_version,
        i?.route ?? null, i?.key ?? null, i?.request_hash ?? null, i?.status ?? null, i?.body ?? null,
        w.ingest_event_ids ?? [], w.events[0]?.occurred_at ?? call.created_at,
        e.map((x) => x.call_id), e.map((x) => x.seq), e.map((x) => x.account_id), e.map((x) => x.type), e.map((x) => x.leg),
        e.map((x) => x.occurred_at), e.map((x) => JSON.stringify(x.data)),
        w.timer_due_at,
        d.map((x) => x.id), d.map((x) => x.account_id), d.map((x) => x.call_id), d.map((x) => x.event_seq), d.map((x) => x.event_type),
        d.map((x) => x.event_name), d.map((x) => x.target_format), d.map((x) => x.target_id), d.map((x) => x.order_key),
        d.map((x) => x.next_attempt_at), d.map((x) => x.created_at), follows, d.map((x) => JSON.stringify(x.request)),
        lines.map((x) => x.order_key), lines.map((x) => x.call_id)]);
  } catch (err) {
    if (isDuplicateIn(err, ['idempotency_keys', 'ingested_events'])) return { outcome: 'key_taken', due: 0 };
    throw err;
  }
  if (Number(rows[0]?.written) === 0) return { outcome: w.expected_version === null ? 'call_exists' : 'stale', due: 0 };
  return { outcome: 'written', due: Number(rows[0]?.due) };
}

export async function getCall(c: Client, accountId: string | null, id: string): Promise<Call | undefined> {
  const rows = accountId === null
    ? await rowsOf(c, 'call_get_any', 'SELECT doc FROM calls WHERE id = $1', [id])
    : await rowsOf(c, 'call_get', 'SELECT doc FROM calls WHERE id = $1 AND account_id = $2', [id, accountId]);
  return rows[0] ? callFromRow(rows[0]) : undefined;
}

export async function getCallByExternalId(c: Client, accountId: string, externalId: string): Promise<Call | undefined> {
  const rows = await rowsOf(c, 'call_get_ext', 'SELECT doc FROM calls WHERE account_id = $1 AND external_id = $2', [accountId, externalId]);
  return rows[0] ? callFromRow(rows[0]) : undefined;
}

export async function listCalls(c: Client, accountId: string, f: CallFilter, limit: number, after: string | null): Promise<Call[]> {
  const rows = await rowsOf(c, 'call_list',
    `SELECT doc FROM calls
     WHERE account_id = $1 AND ($2::text IS NULL OR id < $2)
       AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR direction = $4) AND ($5::text IS NULL OR status = $5)
       AND ($6::text IS NULL OR outcome = $6) AND ($7::text IS NULL OR from_number = $7) AND ($8::text IS NULL OR to_number = $8)
       AND ($9::text IS NULL OR channel_id = $9) AND ($10::text IS NULL OR external_id = $10)
     ORDER BY id DESC LIMIT $11`,
    [accountId, after, f.kind ?? null, f.direction ?? null, f.status ?? null, f.outcome ?? null, f.from ?? null, f.to ?? null,
      f.channel_id ?? null, f.external_id ?? null, limit]);
  return rows.map(callFromRow);
}

export async function listEvents(c: Client, callIds: string[]): Promise<CallEvent[]> {
  if (callIds.length === 0) return [];
  const rows = await rowsOf(c, 'events_list', 'SELECT * FROM call_events WHERE call_id = ANY($1::text[]) ORDER BY call_id, seq', [callIds]);
  return rows.map(eventFromRow);
}

export async function getIdempotent(c: Client, accountId: string, route: string, key: string): Promise<IdempotentAnswer | undefined> {
  const rows = await rowsOf(c, 'idem_get', 'SELECT request_hash, status, body FROM idempotency_keys WHERE account_id = $1 AND route = $2 AND key = $3', [accountId, route, key]);
  const r = rows[0];
  return r ? { request_hash: String(r.request_hash), status: Number(r.status), body: String(r.body) } : undefined;
}

export async function getIngested(c: Client, accountId: string, eventId: string): Promise<string | undefined> {
  const rows = await rowsOf(c, 'ingest_get', 'SELECT call_id FROM ingested_events WHERE account_id = $1 AND event_id = $2', [accountId, eventId]);
  return rows[0] ? String(rows[0].call_id) : undefined;
}
