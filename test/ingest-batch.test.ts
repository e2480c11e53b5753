/**
 * Issue 10: batched ingestion. `POST /v1/call-events` with `{"events": [...]}` (up to 1,000)
 * applies each event as it would alone, in order per call, and answers one result per event in
 * order; a bad event is answered on its own; a repeated batch changes nothing; deliveries keep
 * each call's order.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startHookline, startReceiver, waitFor, type Receiver, type TestServer } from './helpers.ts';
import { getCall, timeline } from './call-helpers.ts';
import { createEndpoint, hook } from './delivery-helpers.ts';

let s: TestServer;
let rx: Receiver;
before(async () => {
  s = await startHookline();
  rx = await startReceiver();
});
after(async () => {
  await s.stop();
  await rx.close();
});

const PARTIES = { from: '+15558000001', to: '+15558000002', direction: 'outbound' };
const life = (call: string, p: string) => [
  { event_id: `${p}-1`, call_id: call, type: 'leg.initiated', ...PARTIES },
  { event_id: `${p}-2`, call_id: call, type: 'leg.ringing' },
  { event_id: `${p}-3`, call_id: call, type: 'leg.answered' },
  { event_id: `${p}-4`, call_id: call, type: 'call.ended', outcome: 'completed' },
];

test('a batch: one result per event in order, each as the event alone; calls in order; bad events answered alone', async () => {
  const ep = await createEndpoint(s.url, { url: `${rx.url}/batch` });
  const u = randomUUID();
  const [a, b, c] = [`sw-a-${u}`, `sw-b-${u}`, `sw-c-${u}`];
  const la = life(a, `a${u}`);
  const lb = life(b, `b${u}`);
  // Interleaved as a switch adapter would send them, with a repeat, a malformed event, and an
  // impossible transition (call c answered before it started: no from/to on its first event).
  const events = [
    la[0], lb[0], la[1], lb[1], la[1],
    { event_id: `x${u}`, call_id: a, type: 'leg.exploded' },
    la[2], lb[2], { event_id: `c${u}`, call_id: c, type: 'leg.answered' },
    la[3], lb[3],
    { event_id: `late${u}`, call_id: a, type: 'leg.ringing' },
  ];
  const r = await s.api('POST', '/v1/call-events', { events });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const res = r.body.data as { event_id: string; status: number; call_id?: string; external_id?: string; error?: { code: string; status: number } }[];
  assert.equal(res.length, events.length);
  assert.deepEqual(res.map((x) => x.event_id), events.map((e) => e!.event_id));
  assert.deepEqual(res.map((x) => x.status), [201, 201, 200, 200, 200, 400, 200, 200, 400, 200, 200, 409]);
  assert.equal(res[5]!.error!.code, 'invalid_field');
  assert.equal(res[8]!.error!.code, 'missing_field');
  assert.equal(res[11]!.error!.code, 'call_already_ended');
  const callA = res[0]!.call_id!;
  assert.equal(res[0]!.external_id, a);
  assert.ok(res.filter((x) => x.external_id === a).every((x) => x.call_id === callA));

  const call = await getCall(s.url, callA);
  assert.deepEqual(timeline(call), ['leg.initiated/main', 'leg.ringing/main', 'leg.answered/main', 'call.ended']);

  // The same batch again: every event was seen, nothing changes.
  const again = await s.api('POST', '/v1/call-events', { events: [...la, ...lb] });
  assert.deepEqual(again.body.data.map((x: { status: number }) => x.status), [200, 200, 200, 200, 200, 200, 200, 200]);
  assert.equal((await getCall(s.url, callA)).events.length, 4);

  // Each call's events reach the endpoint in order.
  const got = await waitFor(() => {
    const hs = rx.requests.map(hook).filter((h) => h.call_id === callA || h.call_id === res[1]!.call_id);
    return hs.length >= 8 ? hs : null;
  }, 10_000, 'both calls delivered');
  for (const id of [callA, res[1]!.call_id]) assert.deepEqual(got.filter((h) => h.call_id === id).map((h) => h.seq), [1, 2, 3, 4]);
  assert.ok(ep.id);
});

test('a batch must hold 1 to 1,000 events; the single-event form is unchanged', async () => {
  const none = await s.api('POST', '/v1/call-events', { events: [] });
  assert.equal(none.status, 400);
  const many = Array.from({ length: 1001 }, (_, i) => ({ event_id: `m${i}`, call_id: 'sw-many', type: 'leg.ringing' }));
  const over = await s.api('POST', '/v1/call-events', { events: many });
  assert.equal(over.status, 400, JSON.stringify(over.body));
  assert.equal(over.body.code, 'invalid_field');
  const odd = await s.api('POST', '/v1/call-events', { events: [{ event_id: 'e', call_id: 'c', type: 'leg.ringing' }], extra: 1 });
  assert.equal(odd.status, 400);
  assert.equal(odd.body.code, 'unknown_field');
  const notList = await s.api('POST', '/v1/call-events', { events: { event_id: 'e' } });
  assert.equal(notList.status, 400);
  assert.equal(notList.body.field, 'events');

  // An element that is not an object is a bad event like any other: answered alone, in its place.
  const u = randomUUID();
  const good = { event_id: `ok-${u}`, call_id: `sw-ok-${u}`, type: 'leg.initiated', ...PARTIES };
  const mixed = await s.api('POST', '/v1/call-events', { events: [null, good, 42, 'leg.ringing', [good]] });
  assert.equal(mixed.status, 200, JSON.stringify(mixed.body));
  const res = mixed.body.data as { event_id: string | null; status: number; call_id?: string; error?: { code: string } }[];
  assert.deepEqual(res.map((x) => x.status), [400, 201, 400, 400, 400]);
  assert.deepEqual(res.map((x) => x.event_id), [null, good.event_id, null, null, null]);
  assert.ok(res.filter((x) => x.status === 400).every((x) => x.error?.code === 'invalid_field'), JSON.stringify(res));
  assert.match(res[1]!.call_id!, /^call_/);

  const one = await s.api('POST', '/v1/call-events', { event_id: `one-${randomUUID()}`, call_id: `sw-one-${randomUUID()}`, type: 'leg.initiated', ...PARTIES });
  assert.equal(one.status, 201);
  assert.match(one.body.id, /^call_/);
  const bad = await s.api('POST', '/v1/call-events', { event_id: 'e', call_id: 'c', type: 'nope' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'type');
});

test('a batch of 1,000 events over 200 calls is applied whole', async () => {
  const u = randomUUID();
  const events = [];
  for (let step = 0; step < 5; step++) {
    for (let c = 0; c < 200; c++) {
      const base = { event_id: `${u}-${c}-${step}`, call_id: `sw-${u}-${c}` };
      events.push(step === 0 ? { ...base, type: 'leg.initiated', ...PARTIES }
        : step === 1 ? { ...base, type: 'leg.ringing' }
          : step === 2 ? { ...base, type: 'leg.answered' }
            : step === 3 ? { ...base, type: 'call.transcript', speaker: 'agent', message: `line ${c}` }
              : { ...base, type: 'call.ended', outcome: 'completed' });
    }
  }
  const r = await s.api('POST', '/v1/call-events', { events });
  assert.equal(r.status, 200);
  const statuses = r.body.data.map((x: { status: number }) => x.status);
  assert.equal(statuses.filter((x: number) => x === 201).length, 200);
  assert.equal(statuses.filter((x: number) => x === 200).length, 800);
  const call = await getCall(s.url, r.body.data[999].call_id);
  assert.deepEqual(timeline(call), ['leg.initiated/main', 'leg.ringing/main', 'leg.answered/main', 'call.transcript', 'call.ended']);
});

test('an event id already used for another call is refused (409), not taken as a repeat, also when it comes first for a new call', async () => {
  const u = randomUUID();
  const [a, b] = [`sw-ra-${u}`, `sw-rb-${u}`];
  const first = await s.api('POST', '/v1/call-events', { event_id: `${u}-1`, call_id: a, type: 'leg.initiated', ...PARTIES });
  assert.equal(first.status, 201);
  // A new call b whose first event reuses a's event id: not a repeat of b's (answered 200, it
  // would be dropped unseen): 409, and b starts with its next event.
  const r = await s.api('POST', '/v1/call-events', { events: [
    { event_id: `${u}-1`, call_id: b, type: 'leg.initiated', ...PARTIES },
    { event_id: `${u}-2`, call_id: b, type: 'leg.initiated', ...PARTIES },
    { event_id: `${u}-3`, call_id: b, type: 'leg.ringing' },
  ] });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.data.map((x: { status: number }) => x.status), [409, 201, 200]);
  assert.equal(r.body.data[0].error.code, 'idempotency_conflict', JSON.stringify(r.body.data[0]));
  assert.match(r.body.data[0].error.detail, /was ingested for another call/);
  // the same event for its own call is a repeat: 200, that call
  const again = await s.api('POST', '/v1/call-events', { event_id: `${u}-1`, call_id: a, type: 'leg.initiated', ...PARTIES });
  assert.equal(again.status, 200);
  assert.equal(again.body.id, first.body.id);
  const cb = await getCall(s.url, r.body.data[1].call_id);
  assert.equal(cb.external_id, b);
  assert.deepEqual(timeline(cb), ['leg.initiated/main', 'leg.ringing/main']);
  assert.deepEqual(timeline(await getCall(s.url, first.body.id)), ['leg.initiated/main']);
});
