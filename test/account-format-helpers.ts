/**
 * Helpers for the account-wide format tests (seeds 002, 003, 004): a fresh tenant per test, so
 * one test's subscriptions never see another test's calls, and "settled" calls whose deliveries
 * are all finished, so "nothing was sent" can be checked without sleeping.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { CallView } from './call-helpers.ts';
import { request, waitFor, type ApiResponse, type Received, type Receiver, type TestServer } from './helpers.ts';
import type { DeliveryView } from './per-call-helpers.ts';

export interface Tenant {
  id: string;
  key: string;
  api<T = any>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>>;
}

let tenants = 0;

/** A new account on `s` (POST /v1/accounts with the bootstrap key) and a client with its key. */
export async function newTenant(s: TestServer): Promise<Tenant> {
  const r = await s.api('POST', '/v1/accounts', { name: `format-test-${++tenants}` });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const key = r.body.api_key as string;
  return { id: r.body.id, key, api: (method, path, body) => request(s.url, method, path, body, { key }) };
}

/** A Standard Webhooks secret as a user would bring one. */
export function newSecret(): string {
  return 'whsec_' + randomBytes(24).toString('base64');
}

export type { DeliveryView };

/**
 * Waits until the call has ended and every delivery it caused is finished (succeeded or dead):
 * deliveries are planned in the call's own write, so after that nothing more can arrive.
 */
export async function settle(t: Tenant, callId: string, timeoutMs = 15_000): Promise<{ call: CallView; deliveries: DeliveryView[] }> {
  return waitFor(async () => {
    const c = await t.api<CallView>('GET', `/v1/calls/${callId}`);
    assert.equal(c.status, 200, JSON.stringify(c.body));
    if (c.body.status !== 'ended') return null;
    const d = await t.api<{ data: DeliveryView[] }>('GET', `/v1/deliveries?call_id=${callId}&limit=100`);
    assert.equal(d.status, 200, JSON.stringify(d.body));
    if (d.body.data.some((x) => x.status === 'pending' || x.status === 'delivering')) return null;
    return { call: c.body, deliveries: d.body.data.sort((a, b) => a.event_seq - b.event_seq) };
  }, timeoutMs, `call ${callId} and its deliveries to finish`);
}

/** Waits until the call's timeline has an event of `type` (e.g. to hang up at a known moment). */
export async function waitForEvent(t: Tenant, callId: string, type: string): Promise<CallView> {
  return waitFor(async () => {
    const c = await t.api<CallView>('GET', `/v1/calls/${callId}`);
    return c.body.events.some((e) => e.type === type) ? c.body : null;
  }, 10_000, `${type} on call ${callId}`);
}

/** Requests the receiver got on `path` (query ignored) for one call, in arrival order. */
export function received(rx: Receiver, path: string, match: (r: Received) => boolean = () => true): Received[] {
  return rx.requests.filter((r) => new URL(r.url, 'http://x').pathname === path && match(r));
}

/** The call event a delivery announces, by its `hookline-seq` header. */
export function eventOf(call: CallView, r: Received): CallView['events'][number] {
  const seq = Number(r.headers['hookline-seq']);
  const ev = call.events.find((e) => e.seq === seq);
  assert.ok(ev, `no event seq ${seq} on call ${call.id}`);
  return ev;
}

/** Headers as the standardwebhooks package wants them (string values). */
export function headerRecord(r: Received): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) if (typeof v === 'string') out[k] = v;
  return out;
}
