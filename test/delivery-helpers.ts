/**
 * Helpers for the delivery tests (issue 3): read what a receiver got as Standard Webhooks
 * deliveries, create endpoints, place short calls, read the delivery log. They talk to any base
 * URL, so they serve in-process servers and the CLI children of the crash test alike.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { API_KEY, request, startReceiver, waitFor, type ApiResponse, type Received, type TestServer } from './helpers.ts';

/** One request a receiver got, read as a native (`standard`) delivery. */
export interface Hook {
  /** webhook-id: the delivery id, stable across retries */
  id: string;
  type: string;
  call_id: string;
  seq: number;
  attempt: number;
  at: number;
  url: string;
}

function header(r: Received, name: string): string {
  const v = r.headers[name];
  assert.equal(typeof v, 'string', `request has no ${name} header`);
  return v as string;
}

export function hook(r: Received): Hook {
  const body = JSON.parse(r.body) as { type: string; data: { event: { call_id: string; seq: number } } };
  const seq = Number(header(r, 'hookline-seq'));
  assert.equal(body.data.event.seq, seq, 'hookline-seq differs from the body’s event seq');
  return {
    id: header(r, 'webhook-id'),
    type: body.type,
    call_id: body.data.event.call_id,
    seq,
    attempt: Number(header(r, 'hookline-attempt')),
    at: r.at,
    url: r.url,
  };
}

export const hooks = (requests: Received[]): Hook[] => requests.map(hook);

/** Answers with a status (and headers) without a body to speak of. */
export function answer(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(`answer ${status}`);
}

type Base = string | { url: string };
const baseOf = (b: Base): string => (typeof b === 'string' ? b : b.url);

/** POST /v1/endpoints, asserting 201; answers the endpoint with its secret. */
export async function createEndpoint(b: Base, body: Record<string, unknown>, key: string = API_KEY): Promise<any> {
  const r = await request(baseOf(b), 'POST', '/v1/endpoints', body, { key });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

/** A short simulated outbound call; answers its id. */
export async function placeCall(b: Base, simulate: Record<string, unknown> = {}, extra: Record<string, unknown> = {}, key: string = API_KEY): Promise<string> {
  const r = await request(baseOf(b), 'POST', '/v1/calls', {
    from: '+15550100', to: '+15550199', ...extra, simulate: { ring_ms: 10, talk_ms: 20, ...simulate },
  }, { key });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

export async function getCall(b: Base, id: string, key: string = API_KEY): Promise<any> {
  const r = await request(baseOf(b), 'GET', `/v1/calls/${id}`, undefined, { key });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** Waits for the call to end: by then every event and every delivery of it is committed. */
export async function waitEnded(b: Base, id: string, timeoutMs = 10_000, key: string = API_KEY): Promise<any> {
  return waitFor(async () => {
    const c = await getCall(b, id, key);
    return c.status === 'ended' ? c : null;
  }, timeoutMs, `call ${id} to end`);
}

/** Every delivery matching the query (call_id, target_id, status), walking the pages. */
export async function deliveries(b: Base, query: Record<string, string>, key: string = API_KEY): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const qs: URLSearchParams = new URLSearchParams({ ...query, limit: '100', ...(cursor === null ? {} : { cursor }) });
    const r: ApiResponse = await request(baseOf(b), 'GET', `/v1/deliveries?${qs}`, undefined, { key });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    out.push(...r.body.data);
    cursor = r.body.next_cursor;
  } while (cursor !== null);
  return out;
}

export async function getDelivery(b: Base, id: string, key: string = API_KEY): Promise<any> {
  const r = await request(baseOf(b), 'GET', `/v1/deliveries/${id}`, undefined, { key });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** Waits until the delivery's status is `status`; answers it with its attempts. */
export async function waitDelivery(b: Base, id: string, status: string, timeoutMs = 10_000): Promise<any> {
  return waitFor(async () => {
    const d = await getDelivery(b, id);
    return d.status === status ? d : null;
  }, timeoutMs, `delivery ${id} to be ${status}`);
}

/** A test sent to a target that answers 500: logged dead, not counted as dead work, never retried. */
export async function failedTestIsNotDeadWork(app: TestServer): Promise<void> {
  const rx = await startReceiver();
  try {
    rx.respond((_r, res) => answer(res, 500));
    await failedTest(app, rx.url);
  } finally {
    await rx.close();
  }
}

async function failedTest(app: TestServer, receiverUrl: string): Promise<void> {
  const ep = await createEndpoint(app.url, { url: `${receiverUrl}/broken` });
  const t = await app.api('POST', `/v1/endpoints/${ep.id}/test`, {});
  assert.equal(t.status, 200, JSON.stringify(t.body));
  assert.equal(t.body.success, false);
  const d = await app.api('GET', `/v1/deliveries/${t.body.delivery_id}`);
  assert.deepEqual([d.body.status, d.body.test], ['dead', true]);
  const text = await (await fetch(`${app.url}/metrics`)).text();
  assert.equal(Number(/^hookline_deliveries\{status="dead"\} (\d+)$/m.exec(text)?.[1]), 0, 'a failed test is not dead work');
  const r = await app.api('POST', `/v1/deliveries/${t.body.delivery_id}/retry`);
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.equal(r.body.code, 'test_not_retried');
}

/**
 * Two calls to a target that answers 500 until every delivery is dead; then it answers 200 and
 * POST /v1/deliveries/recover sends them all again: each call's events arrive in their order.
 */
export async function recoverInOrder(s: TestServer): Promise<void> {
  // an account of its own: no other test's call reaches this endpoint
  const account = await s.api('POST', '/v1/accounts', { name: 'recover' });
  assert.equal(account.status, 201, JSON.stringify(account.body));
  const key = account.body.api_key as string;
  const api = (method: string, path: string, body?: unknown) => request(s.url, method, path, body, { key });
  const rx = await startReceiver();
  try {
    rx.respond((_r, res) => answer(res, 500));
    const ep = await createEndpoint(s, { url: `${rx.url}/recover` }, key);
    const calls = [await placeCall(s, {}, {}, key), await placeCall(s, {}, {}, key)];
    for (const c of calls) await waitEnded(s, c, 10_000, key);
    const all = await waitFor(async () => {
      const ds = await deliveries(s, { target_id: ep.id }, key);
      return ds.length >= 10 && ds.every((d) => d.status === 'dead') ? ds : null;
    }, 15_000, 'every delivery of both calls dead');
    const none = await api('POST', '/v1/deliveries/recover', {});
    assert.deepEqual([none.status, none.body.code], [400, 'missing_field']);
    rx.respond((_r, res) => answer(res, 200));
    const before = rx.requests.length;
    const r = await api('POST', '/v1/deliveries/recover', { target_id: ep.id });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.deepEqual(r.body, { object: 'recovery', retried: all.length, more: false });
    await waitFor(async () => (await deliveries(s, { target_id: ep.id, status: 'succeeded' }, key)).length === all.length, 15_000, 'every recovered delivery to succeed');
    const sent = hooks(rx.requests.slice(before));
    assert.equal(sent.length, all.length);
    for (const c of calls) {
      const seqs = sent.filter((h) => h.call_id === c).map((h) => h.seq);
      assert.ok(seqs.length >= 5, `call ${c}: all its events`);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `call ${c}: in order`);
    }
    // nothing dead is left: a second recovery retries nothing
    assert.deepEqual((await api('POST', '/v1/deliveries/recover', { target_id: ep.id })).body, { object: 'recovery', retried: 0, more: false });
  } finally {
    await rx.close();
  }
}
