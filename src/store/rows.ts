import type { Call, CallEvent } from '../calls/model.ts';
import type { Attempt, Delivery, DeliveryStatus, Resource } from './contract.ts';

/** A row as a driver hands it over; mapped to Hookline's types here and nowhere else. */
export type Row = Record<string, unknown>;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

export function callFromRow(r: Row): Call {
  return json<Call>(r.doc);
}

export function eventFromRow(r: Row): CallEvent {
  return {
    call_id: String(r.call_id),
    account_id: String(r.account_id),
    seq: Number(r.seq),
    type: String(r.type) as CallEvent['type'],
    leg: str(r.leg),
    occurred_at: Number(r.occurred_at),
    data: json(r.data),
  };
}

/**
 * SQLite keeps a request's body in a column of its own (migration 0009: not escaped inside the
 * request's JSON); its older rows, and PostgreSQL's, have it inside `request`.
 */
function withBody(request: Delivery['request'], body: unknown): Delivery['request'] {
  if (typeof body === 'string') request.body = body;
  return request;
}

export function deliveryFromRow(r: Row): Delivery {
  return {
    id: String(r.id),
    account_id: String(r.account_id),
    call_id: String(r.call_id),
    event_seq: Number(r.event_seq),
    event_type: String(r.event_type),
    event_name: String(r.event_name),
    target_format: String(r.target_format),
    target_id: String(r.target_id),
    order_key: String(r.order_key),
    request: withBody(json(r.request), r.body),
    status: String(r.status) as DeliveryStatus,
    attempts: Number(r.attempts),
    next_attempt_at: Number(r.next_attempt_at),
    locked_by: str(r.locked_by),
    locked_until: num(r.locked_until),
    created_at: Number(r.created_at),
    updated_at: Number(r.updated_at),
    last_status_code: num(r.last_status_code),
    last_error: str(r.last_error),
  };
}

export function attemptFromRow(r: Row): Attempt {
  return {
    delivery_id: String(r.delivery_id),
    attempt: Number(r.attempt),
    started_at: Number(r.started_at),
    duration_ms: Number(r.duration_ms),
    status_code: num(r.status_code),
    error: str(r.error),
    request: json(r.request),
    response_headers: r.response_headers === null || r.response_headers === undefined ? null : json(r.response_headers),
    response_excerpt: str(r.response_excerpt),
  };
}

export function resourceFromRow(r: Row): Resource {
  return {
    id: String(r.id),
    account_id: String(r.account_id),
    kind: String(r.kind),
    doc: json(r.doc),
    enabled: r.enabled === 1 || r.enabled === true,
    disabled_reason: str(r.disabled_reason),
    created_at: Number(r.created_at),
    updated_at: Number(r.updated_at),
    last_success_at: num(r.last_success_at),
    failing_since: num(r.failing_since),
  };
}
