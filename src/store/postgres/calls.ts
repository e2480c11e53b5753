import type { Call, CallEvent } from '../../calls/model.ts';
import type { CallFilter, CallWrite, IdempotentAnswer, WriteOutcome } from '../contract.ts';
import { callFromRow, eventFromRow, type Row } from '../rows.ts';
import { byLine, isDuplicateIn, jsonTexts, rowsOf, textsFromJson, type Client } from './sql.ts';

/**
 * Calls' new states, their events and what they cause — a batch of call writes (batch.ts) — as
 * ONE statement: a chain of data-modifying CTEs over arrays, atomic by itself (no BEGIN/COMMIT).
 * A call write alone is the batch of one: one round trip instead of the 8–10 of a transaction of
 * separate statements. What the chain must get right:
 *
 * - Everything hangs off `ok`, the call rows written: inserted (`ON CONFLICT DO NOTHING`: a taken
 *   id or external id leaves the call out of `ok`, 'call_exists') or updated under the version
 *   guard (not updated, 'stale'). Every other part writes only for calls in `ok`, so a refused
 *   write writes nothing, whatever the others in the batch do.
 * - The version guard holds although every CTE reads one snapshot, taken when the statement
 *   began: `lk` locks each call row at the expected version (one pkey probe each, in call id
 *   order, so two batches cannot deadlock on calls); a row changed by a transaction that
 *   committed after the snapshot is waited for and re-checked at its newest version (READ
 *   COMMITTED), so a concurrent writer of the call makes this write 'stale'. Every writer of a
 *   call passes this guard, so once a call is in `ok` no other write of its events or deliveries
 *   can have happened since the snapshot: the new seqs are free.
 * - Idempotency keys and ingested event ids are plain INSERTs, written after the calls: a taken
 *   key fails the statement with a duplicate key in that table, which rolls back the batch
 *   (writeCalls then answers 'key_taken' for a batch of one; the store runs the writes of a
 *   larger batch one by one to find whose key it was).
 * - Queued or pending: a new delivery waits ('queued') behind an unsettled delivery of the same
 *   call and target (a line). Read from the snapshot alone that is wrong when a settle of that
 *   earlier delivery commits after the snapshot: we would queue behind a row already settled,
 *   whose settle has already looked for queued rows to promote and missed ours — it would wait
 *   for ever. So `busy` locks the first unsettled row of each line FOR KEY SHARE. A row a settle
 *   has locked (FOR UPDATE, queue.ts) makes us wait for that settle to commit, and a locked row
 *   is re-read at its newest version: a settled one (deleted from delivery_queue) is skipped for
 *   the next unsettled row, if any. A settle that comes after our lock waits for our commit, and
 *   its promotion (a later statement of its transaction, with a later snapshot) sees our queued
 *   row. Both sides lock in line order (sql.ts byLine), so they cannot deadlock. FOR KEY SHARE
 *   does not conflict with the claim's, promotion's or reap's updates, so those never wait on a
 *   call write. Deliveries of one write in the same line follow each other (`follows`): rows
 *   of one statement cannot see each other.
 * - Plans: the statement is prepared once per connection and its generic plan reused, so every
 *   lookup is a probe per element (`LIMIT 1` subqueries): a join of the lines with the unsettled
 *   rows had been planned, on a young database, as a scan of every unsettled row (10 ms per
 *   write under a backlog of ~28,000).
 * - An unchanged, unclaimed timer is not rewritten (a switch call's idle timer moves by the
 *   minute, not with every event).
 */
export interface Written {
  /** per write, in order */
  outcomes: WriteOutcome[];
  /** new deliveries due now ('pending'), and timers set or moved: work for the other processes */
  due: number;
  timers: number;
}

export async function writeCalls(c: Client, ws: CallWrite[]): Promise<Written> {
  // Calls in id order: the order `lk` locks them in.
  const order = ws.map((w, i) => i).sort((a, b) => (ws[a]!.call.id < ws[b]!.call.id ? -1 : ws[a]!.call.id > ws[b]!.call.id ? 1 : 0));
  const calls = order.map((i) => ws[i]!);
  const ingest = calls.flatMap((w) => (w.ingest_event_ids ?? []).map((id) => ({ call: w.call.id, id, at: w.events[0]?.occurred_at ?? w.call.created_at })));
  const e = calls.flatMap((w) => w.events);
  const d = calls.flatMap((w) => w.deliveries);
  const seen = new Set<string>();
  const follows = d.map((x) => {
    const line = `${x.order_key}\u0000${x.call_id}`;
    const f = seen.has(line);
    seen.add(line);
    return f;
  });
  const lines = [...new Map(d.map((x) => [`${x.order_key}\u0000${x.call_id}`, x])).values()].sort(byLine);
  const col = <T>(f: (w: CallWrite) => T): T[] => calls.map(f);
  let rows;
  try {
    rows = await rowsOf(c, 'calls_write',
      `WITH c AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                              $11::bigint[], $12::int[], ${textsFromJson(13)}, $14::int[], $15::bigint[], $16::text[], $17::text[], $18::text[], $19::int[], ${textsFromJson(20)},
                              $46::text[], $47::bigint[])
           AS c(id, account_id, kind, direction, from_number, to_number, status, outcome, channel_id, external_id,
                created_at, version, doc, expected, timer, idem_route, idem_key, idem_hash, idem_status, idem_body, lease_owner, lease_until)),
       ins AS (
         INSERT INTO calls (id, account_id, kind, direction, from_number, to_number, status, outcome, channel_id, external_id, created_at, version, doc)
         SELECT id, account_id, kind, direction, from_number, to_number, status, outcome, channel_id, external_id, created_at, version, doc
         FROM c WHERE expected IS NULL
         ON CONFLICT DO NOTHING
         RETURNING id),
       lk AS MATERIALIZED (
         SELECT x.id FROM c CROSS JOIN LATERAL (
           SELECT calls.id FROM calls WHERE calls.id = c.id AND calls.version = c.expected LIMIT 1 FOR NO KEY UPDATE) x),
       upd AS (
         UPDATE calls SET status = c.status, outcome = c.outcome, version = c.version, doc = c.doc
         FROM lk JOIN c ON c.id = lk.id
         WHERE calls.id = lk.id
         RETURNING calls.id),
       ok AS MATERIALIZED (SELECT id FROM ins UNION ALL SELECT id FROM upd),
       okc AS (SELECT c.* FROM c JOIN ok ON ok.id = c.id),
       idem AS (
         INSERT INTO idempotency_keys (account_id, route, key, request_hash, status, body, created_at)
         SELECT account_id, idem_route, idem_key, idem_hash, idem_status, idem_body, created_at FROM okc WHERE idem_key IS NOT NULL),
       ingest AS (
         INSERT INTO ingested_events (account_id, event_id, call_id, created_at)
         SELECT okc.account_id, i.event_id, i.call_id, i.created_at
         FROM unnest($21::text[], $22::text[], $23::bigint[]) AS i(call_id, event_id, created_at) JOIN okc ON okc.id = i.call_id),
       events AS (
         INSERT INTO call_events (call_id, seq, account_id, type, leg, occurred_at, data)
         SELECT x.* FROM unnest($24::text[], $25::int[], $26::text[], $27::text[], $28::text[], $29::bigint[], ${textsFromJson(30)})
           AS x(call_id, seq, account_id, type, leg, occurred_at, data)
         WHERE x.call_id IN (SELECT id FROM ok)),
       timer_set AS (
         INSERT INTO call_timers (call_id, due_at, locked_by, locked_until)
         SELECT id, timer, lease_owner, lease_until FROM okc WHERE timer IS NOT NULL
         ON CONFLICT (call_id) DO UPDATE SET due_at = excluded.due_at, locked_by = excluded.locked_by, locked_until = excluded.locked_until
         WHERE call_timers.due_at <> excluded.due_at OR call_timers.locked_by IS DISTINCT FROM excluded.locked_by
            OR call_timers.locked_until IS DISTINCT FROM excluded.locked_until
         RETURNING call_id, locked_by),
       timer_clear AS (
         DELETE FROM call_timers WHERE call_id IN (SELECT id FROM okc WHERE timer IS NULL AND expected IS NOT NULL)),
       t AS (
         SELECT * FROM unnest($31::text[], $32::text[], $33::text[], $34::int[], $35::text[], $36::text[], $37::text[], $38::text[], $39::text[],
                              $40::bigint[], $41::bigint[], $42::bool[], ${textsFromJson(43)})
           AS t(id, account_id, call_id, event_seq, event_type, event_name, target_format, target_id, order_key, next_attempt_at, created_at, follows, request)
         WHERE t.call_id IN (SELECT id FROM ok)),
       busy AS MATERIALIZED (
         SELECT l.order_key, l.call_id
         FROM unnest($44::text[], $45::text[]) AS l(order_key, call_id)
         CROSS JOIN LATERAL (
           SELECT p.id FROM delivery_queue p
           WHERE p.order_key = l.order_key AND p.call_id = l.call_id
           ORDER BY p.event_seq LIMIT 1
           FOR KEY SHARE) h
         WHERE l.call_id IN (SELECT id FROM ok)),
       s AS MATERIALIZED (
         SELECT t.*, CASE WHEN t.follows OR EXISTS (SELECT 1 FROM busy b WHERE b.order_key = t.order_key AND b.call_id = t.call_id)
                          THEN 'queued' ELSE 'pending' END AS status
         FROM t),
       dels AS (
         INSERT INTO deliveries (id, account_id, call_id, event_seq, event_type, event_name, target_format, target_id, order_key,
                                 status, attempts, next_attempt_at, created_at, updated_at)
         SELECT id, account_id, call_id, event_seq, event_type, event_name, target_format, target_id, order_key,
                status, 0, next_attempt_at, created_at, created_at
         FROM s),
       queue AS (
         INSERT INTO delivery_queue (id, order_key, call_id, event_seq, status, next_attempt_at)
         SELECT id, order_key, call_id, event_seq, status, next_attempt_at FROM s),
       requests AS (
         INSERT INTO delivery_requests (delivery_id, request) SELECT id, request FROM t)
       SELECT (SELECT array_agg(id) FROM ok) AS written, (SELECT count(*) FROM s WHERE status = 'pending') AS due,
              (SELECT count(*) FROM timer_set WHERE locked_by IS NULL) AS timers`,
      [col((w) => w.call.id), col((w) => w.call.account_id), col((w) => w.call.kind), col((w) => w.call.direction), col((w) => w.call.from),
        col((w) => w.call.to), col((w) => w.call.status), col((w) => w.call.outcome), col((w) => w.call.channel_id), col((w) => w.call.external_id),
        col((w) => w.call.created_at), col((w) => w.call.version), jsonTexts(col((w) => JSON.stringify(w.call))), col((w) => w.expected_version),
        col((w) => w.timer_due_at), col((w) => w.idempotency?.route ?? null), col((w) => w.idempotency?.key ?? null),
        col((w) => w.idempotency?.request_hash ?? null), col((w) => w.idempotency?.status ?? null), jsonTexts(col((w) => w.idempotency?.body ?? null)),
        ingest.map((x) => x.call), ingest.map((x) => x.id), ingest.map((x) => x.at),
        e.map((x) => x.call_id), e.map((x) => x.seq), e.map((x) => x.account_id), e.map((x) => x.type), e.map((x) => x.leg),
        e.map((x) => x.occurred_at), jsonTexts(e.map((x) => JSON.stringify(x.data))),
        d.map((x) => x.id), d.map((x) => x.account_id), d.map((x) => x.call_id), d.map((x) => x.event_seq), d.map((x) => x.event_type),
        d.map((x) => x.event_name), d.map((x) => x.target_format), d.map((x) => x.target_id), d.map((x) => x.order_key),
        d.map((x) => x.next_attempt_at), d.map((x) => x.created_at), follows, jsonTexts(d.map((x) => JSON.stringify(x.request))),
        lines.map((x) => x.order_key), lines.map((x) => x.call_id),
        col((w) => w.timer_lease?.owner ?? null), col((w) => w.timer_lease?.until ?? null)]);
  } catch (err) {
    if (ws.length === 1 && isKeyTaken(err)) return { outcomes: ['key_taken'], due: 0, timers: 0 };
    throw err;
  }
  const written = new Set((rows[0]?.written as string[] | null) ?? []);
  return {
    outcomes: ws.map((w) => (written.has(w.call.id) ? 'written' : w.expected_version === null ? 'call_exists' : 'stale')),
    due: Number(rows[0]?.due ?? 0),
    timers: Number(rows[0]?.timers ?? 0),
  };
}

/** A taken idempotency key or ingested event id: the whole statement was refused. */
export function isKeyTaken(err: unknown): boolean {
  return isDuplicateIn(err, ['idempotency_keys', 'ingested_events']);
}

/**
 * The reads a call write starts from, batched like the writes (batch.ts): the calls, switch
 * calls or ingested event ids asked for in one turn in one statement, a pkey or unique-index
 * probe per element (`LIMIT 1`, a plan that stays a probe). Answers in the order asked.
 */
export async function getCalls(c: Client, keys: { accountId: string | null; id: string }[]): Promise<(Call | undefined)[]> {
  const rows = await rowsOf(c, 'calls_get',
    `SELECT u.n, x.doc FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(account_id, id, n)
     CROSS JOIN LATERAL (SELECT doc FROM calls WHERE calls.id = u.id AND (u.account_id IS NULL OR calls.account_id = u.account_id) LIMIT 1) x`,
    [keys.map((k) => k.accountId), keys.map((k) => k.id)]);
  return inOrder(keys.length, rows, callFromRow);
}

export async function getCallsByExternalId(c: Client, keys: { accountId: string; externalId: string }[]): Promise<(Call | undefined)[]> {
  const rows = await rowsOf(c, 'calls_get_ext',
    `SELECT u.n, x.doc FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(account_id, external_id, n)
     CROSS JOIN LATERAL (SELECT doc FROM calls WHERE calls.account_id = u.account_id AND calls.external_id = u.external_id LIMIT 1) x`,
    [keys.map((k) => k.accountId), keys.map((k) => k.externalId)]);
  return inOrder(keys.length, rows, callFromRow);
}

/** The call each ingested event id went to. */
export async function getIngested(c: Client, keys: { accountId: string; eventId: string }[]): Promise<(string | undefined)[]> {
  const rows = await rowsOf(c, 'ingested_get',
    `SELECT u.n, x.call_id FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(account_id, event_id, n)
     CROSS JOIN LATERAL (SELECT call_id FROM ingested_events i WHERE i.account_id = u.account_id AND i.event_id = u.event_id LIMIT 1) x`,
    [keys.map((k) => k.accountId), keys.map((k) => k.eventId)]);
  return inOrder(keys.length, rows, (r) => String(r.call_id));
}

function inOrder<T>(n: number, rows: Row[], map: (r: Row) => T): (T | undefined)[] {
  const out: (T | undefined)[] = new Array<T | undefined>(n).fill(undefined);
  for (const r of rows) out[Number(r.n) - 1] = map(r);
  return out;
}

export async function listCalls(c: Client, accountId: string, f: CallFilter, limit: number, after: string | null): Promise<Call[]> {
  // A switch's call by its own id by a statement of its own, through calls_by_external_id (a
  // generic plan of `($10 IS NULL OR external_id = $10)` walks the account's calls).
  const byExternal = f.external_id !== undefined;
  const rows = await rowsOf(c, byExternal ? 'call_list_external' : 'call_list',
    `SELECT doc FROM calls
     WHERE account_id = $1 AND ($2::text IS NULL OR id < $2)
       AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR direction = $4) AND ($5::text IS NULL OR status = $5)
       AND ($6::text IS NULL OR outcome = $6) AND ($7::text IS NULL OR from_number = $7) AND ($8::text IS NULL OR to_number = $8)
       AND ($9::text IS NULL OR channel_id = $9) AND ${byExternal ? 'external_id = $10' : '$10::text IS NULL'}
     ORDER BY id DESC LIMIT $11`,
    [accountId, after, f.kind ?? null, f.direction ?? null, f.status ?? null, f.outcome ?? null, f.from ?? null, f.to ?? null,
      f.channel_id ?? null, f.external_id ?? null, limit]);
  return rows.map(callFromRow);
}

export async function liveCalls(c: Client, driver: string): Promise<Call[]> {
  const rows = await rowsOf(c, 'calls_live', "SELECT doc FROM calls WHERE status <> 'ended' AND doc::jsonb -> 'driver_state' ->> 'driver' = $1", [driver]);
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
