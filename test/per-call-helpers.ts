/**
 * Helpers for the per-call format tests (seed 000 callback, seed 001 push-report): read a call's
 * delivery log, wait for it to settle, take received requests apart.
 */
import assert from 'node:assert/strict';
import { waitFor, type Received, type TestServer } from './helpers.ts';

export interface DeliveryView {
  id: string;
  call_id: string;
  event_seq: number;
  event: string;
  event_type: string;
  target: { format: string; id: string };
  status: string;
  attempt_count: number;
  last_status_code: number | null;
  last_error: string | null;
  request: { method: string; url: string };
  attempts: { attempt: number; status_code: number | null; error: string | null; request: { method: string; url: string; headers: Record<string, string> }; [k: string]: unknown }[];
  [k: string]: unknown;
}

/** The whole delivery log of one call, oldest event first. */
export async function deliveriesOf(s: TestServer, callId: string, key?: string): Promise<DeliveryView[]> {
  const out: DeliveryView[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `/v1/deliveries?call_id=${encodeURIComponent(callId)}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await s.api<{ data: DeliveryView[]; next_cursor: string | null }>('GET', q, undefined, key === undefined ? {} : { key });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    out.push(...r.body.data);
    cursor = r.body.next_cursor;
  } while (cursor !== null);
  return out.sort((a, b) => a.event_seq - b.event_seq || a.target.id.localeCompare(b.target.id));
}

/** Waits until the call has `count` deliveries and none is still pending or under way. */
export async function waitSettled(s: TestServer, callId: string, count: number, key?: string): Promise<DeliveryView[]> {
  return waitFor(async () => {
    const ds = await deliveriesOf(s, callId, key);
    return ds.length === count && ds.every((d) => d.status === 'succeeded' || d.status === 'dead') ? ds : null;
  }, 15_000, `${count} settled deliveries of call ${callId}`);
}

/** `YYYY-MM-DD HH:mm:ss` UTC of an ISO time from the API; '' for null. */
export function sqlTime(iso: string | null): string {
  return iso === null ? '' : iso.slice(0, 19).replace('T', ' ');
}

export const SQL_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/** A received request's raw path and decoded query (the path may start with `//`, as in seed 000). */
export function target(r: Received): { path: string; query: Record<string, string>; rawQuery: string } {
  const i = r.url.indexOf('?');
  const path = i < 0 ? r.url : r.url.slice(0, i);
  const rawQuery = i < 0 ? '' : r.url.slice(i + 1);
  return { path, query: Object.fromEntries(new URLSearchParams(rawQuery)), rawQuery };
}

/** The body of a received request as JSON, failing with the text when it is not JSON. */
export function jsonBody(r: Received): any {
  try {
    return JSON.parse(r.body);
  } catch {
    assert.fail(`${r.method} ${r.url}: body is not JSON: ${r.body}`);
  }
}
