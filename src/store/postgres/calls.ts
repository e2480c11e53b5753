import type pg from 'pg';
import type { Call, CallEvent } from '../../calls/model.ts';
import type { CallFilter, CallWrite, IdempotentAnswer, WriteOutcome } from '../contract.ts';
import { callFromRow, eventFromRow } from '../rows.ts';
import { countOf, rowsOf, type Client } from './sql.ts';

/** Thrown inside a transaction to roll it back and answer the outcome. */
export class Rollback extends Error {
  readonly outcome: Exclude<WriteOutcome, 'written'>;
  constructor(outcome: Exclude<WriteOutcome, 'written'>) {
    super(outcome);
    this.outcome = outcome;
  }
}

/** A call's new state, its events and what they cause, in the caller's transaction. */
export async function writeCall(c: pg.PoolClient, w: CallWrite, channel: string): Promise<WriteOutcome> {
  const call = w.call;
  if (w.idempotency) {
    const i = w.idempotency;
    const n = await countOf(c, 'idem_put',
      'INSERT INTO idempotency_keys (account_id, route, key, request_hash, status, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING',
      [call.account_id, i.route, i.key, i.request_hash, i.status, i.body, call.created_at]);
    if (n === 0) throw new Rollback('key_taken');
  }
  const ingested = w.ingest_event_ids ?? [];
  if (ingested.length > 0) {
    const n = await countOf(c, 'ingest_put',
      `INSERT INTO ingested_events (account_id, event_id, call_id, created_at)
       SELECT $1, e, $3, $4 FROM unnest($2::text[]) AS e ON CONFLICT DO NOTHING`,
      [call.account_id, ingested, call.id, w.events[0]?.occurred_at ?? call.created_at]);
    if (n !== ingested.length) throw new Rollback('key_taken');
  }
  const doc = JSON.stringify(call);
  if (w.expected_version === null) {
    // The only unique key a new call can clash on is the account's external id (ids are new).
    const n = await countOf(c, 'call_insert',
      `INSERT INTO calls (id, account_id, kind, direction, from_number, to_number, status, outcome, channel_id, external_id, created_at, version, doc)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING`,
      [call.id, call.account_id, call.kind, call.direction, call.from, call.to, call.status, call.outcome, call.channel_id, call.external_id, call.created_at, call.version, doc]);
    if (n === 0) throw new Rollback('call_exists');
  } else {
    const n = await countOf(c, 'call_update', 'UPDATE calls SET status = $1, outcome = $2, version = $3, doc = $4 WHERE id = $5 AND version = $6',
      [call.status, call.outcome, call.version, doc, call.id, w.expected_version]);
    if (n === 0) throw new Rollback('stale');
  }
  if (w.events.length > 0) {
    const e = w.events;
    await countOf(c, 'events_insert',
      `INSERT INTO call_events (call_id, seq, account_id, type, leg, occurred_at, data)
       SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[])`,
      [e.map((x) => x.call_id), e.map((x) => x.seq), e.map((x) => x.account_id), e.map((x) => x.type), e.map((x) => x.leg),
        e.map((x) => x.occurred_at), e.map((x) => JSON.stringify(x.data))]);
  }
  if (w.timer_due_at === null) {
    await countOf(c, 'timer_delete', 'DELETE FROM call_timers WHERE call_id = $1', [call.id]);
  } else {
    await countOf(c, 'timer_put',
      `INSERT INTO call_timers (call_id, due_at, locked_by, locked_until) VALUES ($1, $2, NULL, NULL)
       ON CONFLICT (call_id) DO UPDATE SET due_at = excluded.due_at, locked_by = NULL, locked_until = NULL`, [call.id, w.timer_due_at]);
  }
  if (w.deliveries.length > 0) {
    const d = w.deliveries;
    // One statement inserts them all, so a row cannot see the rows beside it: a delivery that
    // follows another of the same call and target in this batch is queued outright; the first
    // is queued only behind an unsettled one already stored.
    const seen = new Set<string>();
    const follows = d.map((x) => {
      const line = `${x.order_key}\u0000${x.call_id}`;
      const f = seen.has(line);
      seen.add(line);
      return f;
    });
    await countOf(c, 'deliveries_insert',
      `INSERT INTO deliveries (id, account_id, call_id, event_seq, event_type, event_name, target_format, target_id, order_key,
                               status, attempts, next_attempt_at, created_at, updated_at)
       SELECT id, account_id, call_id, event_seq, event_type, event_name, target_format, target_id, order_key,
              CASE WHEN follows OR EXISTS (SELECT 1 FROM deliveries p WHERE p.order_key = t.order_key AND p.call_id = t.call_id
                                                                       AND p.status IN ('queued', 'pending', 'delivering'))
                   THEN 'queued' ELSE 'pending' END,
              0, next_attempt_at, created_at, created_at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::bool[])
         AS t(id, account_id, call_id, event_seq, event_type, event_name, target_format, target_id, order_key, next_attempt_at, created_at, follows)`,
      [d.map((x) => x.id), d.map((x) => x.account_id), d.map((x) => x.call_id), d.map((x) => x.event_seq), d.map((x) => x.event_type),
        d.map((x) => x.event_name), d.map((x) => x.target_format), d.map((x) => x.target_id), d.map((x) => x.order_key),
        d.map((x) => x.next_attempt_at), d.map((x) => x.created_at), follows]);
    // The rendered request, written once (slim queue rows, migration 0005).
    await countOf(c, 'requests_insert', 'INSERT INTO delivery_requests (delivery_id, request) SELECT * FROM unnest($1::text[], $2::text[])',
      [d.map((x) => x.id), d.map((x) => JSON.stringify(x.request))]);
  }
  if (w.deliveries.length > 0 || w.timer_due_at !== null) {
    // Delivered at commit, to every listening process: "there is work", nothing more.
    await countOf(c, 'notify', 'SELECT pg_notify($1, \'\')', [channel]);
  }
  return 'written';
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
