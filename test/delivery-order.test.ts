/**
 * Issue 3: order and isolation (principle 3). For one endpoint and one call, event N+1 is not
 * sent before event N has succeeded or been given up on; other calls and other endpoints do not
 * wait: a call's retries hold back only that call, a hanging endpoint only that endpoint.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { startHookline, startReceiver, waitFor, type TestServer } from './helpers.ts';
import { answer, createEndpoint, deliveries, getCall, hooks, placeCall, waitEnded, type Hook } from './delivery-helpers.ts';

let s: TestServer;
before(async () => {
  // Retries 150 ms apart: a call whose first event fails three times is held back ~half a second.
  s = await startHookline({ retryScheduleMs: [150, 150, 150, 150, 150] });
});
after(async () => {
  await s.stop();
});

const EVENTS = ['call.accepted', 'leg.initiated', 'leg.ringing', 'leg.answered', 'call.ended'];
const ofCall = (got: Hook[], callId: string): Hook[] => got.filter((h) => h.call_id === callId);

test('a call’s later events wait while its first is retried; another call’s events flow meanwhile', async () => {
  const rx = await startReceiver();
  const FROM_A = '+15550111';
  let failuresLeft = 3;
  rx.respond((r, res) => {
    const body = JSON.parse(r.body);
    if (body.data.call.from === FROM_A && body.type === 'call.accepted' && failuresLeft > 0) {
      failuresLeft -= 1;
      return answer(res, 500);
    }
    answer(res, 200);
  });
  try {
    const ep = await createEndpoint(s, { url: `${rx.url}/order` });
    const a = await placeCall(s, {}, { from: FROM_A });
    const b = await placeCall(s, {}, { from: '+15550222' });
    await waitFor(() => ofCall(hooks(rx.requests), a).some((h) => h.type === 'call.ended'), 10_000, 'call A’s last event');
    await waitFor(() => ofCall(hooks(rx.requests), b).some((h) => h.type === 'call.ended'), 10_000, 'call B’s last event');

    const got = hooks(rx.requests);
    const gotA = ofCall(got, a);
    // A: the first event four times (three 500s, then 200), the same webhook-id each time, then the rest in order.
    assert.deepEqual(gotA.map((h) => h.seq), [1, 1, 1, 1, 2, 3, 4, 5], `A arrived as ${gotA.map((h) => h.seq).join(',')}`);
    assert.deepEqual(gotA.map((h) => h.type), ['call.accepted', 'call.accepted', 'call.accepted', ...EVENTS]);
    assert.equal(new Set(gotA.slice(0, 4).map((h) => h.id)).size, 1, 'one webhook-id across the retries');
    assert.deepEqual(gotA.slice(0, 4).map((h) => h.attempt), [1, 2, 3, 4]);
    assert.equal(new Set(gotA.map((h) => h.id)).size, 5, 'one webhook-id per event');
    // The retries keep to the schedule (150 ms ± jitter), though later events of A are waiting.
    const gaps = gotA.slice(1, 4).map((h, i) => h.at - gotA[i]!.at);
    assert.ok(gaps.every((g) => g >= 120 && g < 600), `retries came ${gaps.join(', ')} ms apart; the schedule says 150`);

    // A's later events existed (its call had ended) long before its first event got through.
    const firstOk = gotA[3]!;
    const callA = await getCall(s, a);
    const endedAt = Date.parse(callA.events.at(-1).occurred_at);
    assert.ok(endedAt < firstOk.at, 'call A ended while its first event was still being retried');
    const indexOf = (h: Hook) => got.indexOf(h);
    for (const h of gotA.slice(4)) assert.ok(indexOf(h) > indexOf(firstOk), `A's seq ${h.seq} arrived before A's seq 1 succeeded`);

    // B was not held up by A: all its events arrived, in order, while A's first was failing.
    const gotB = ofCall(got, b);
    assert.deepEqual(gotB.map((h) => h.type), EVENTS);
    assert.deepEqual(gotB.map((h) => h.seq), [1, 2, 3, 4, 5]);
    assert.ok(indexOf(gotB.at(-1)!) < indexOf(firstOk), 'B’s events all arrived before A’s first event succeeded');

    // The log agrees: A's first delivery has four attempts, every other one a single attempt.
    const logA = await waitFor(async () => {
      const ds = await deliveries(s, { call_id: a, target_id: ep.id });
      return ds.length === 5 && ds.every((d) => d.status === 'succeeded') ? ds : null;
    });
    const bySeq = new Map(logA.map((d) => [d.event_seq, d]));
    assert.deepEqual(bySeq.get(1).attempts.map((x: any) => x.status_code), [500, 500, 500, 200]);
    for (const seq of [2, 3, 4, 5]) assert.equal(bySeq.get(seq).attempts.length, 1);
  } finally {
    await rx.close();
  }
});

test('a call’s next event goes out once the one before it is given up on (dead)', async () => {
  const rx = await startReceiver();
  rx.respond((r, res) => (JSON.parse(r.body).type === 'leg.initiated' ? answer(res, 500) : answer(res, 200)));
  const srv = await startHookline({ retryScheduleMs: [30, 30] });
  try {
    const ep = await createEndpoint(srv, { url: `${rx.url}/dead-then-next` });
    const c = await placeCall(srv);
    await waitFor(() => hooks(rx.requests).some((h) => h.type === 'call.ended'), 10_000, 'the last event');
    const seqs = hooks(rx.requests).map((h) => h.seq);
    assert.deepEqual(seqs, [1, 2, 2, 2, 3, 4, 5]);
    const ds = await deliveries(srv, { call_id: c, target_id: ep.id });
    assert.equal(ds.find((d) => d.event_seq === 2).status, 'dead');
  } finally {
    await rx.close();
    await srv.stop();
  }
});

test('an endpoint that never answers does not hold up another endpoint', async () => {
  const hang = await startReceiver();
  const open: ServerResponse[] = [];
  hang.respond((_r, res) => {
    open.push(res); // never answered
  });
  const good = await startReceiver();
  let hangEp: any;
  try {
    hangEp = await createEndpoint(s, { url: `${hang.url}/hang`, timeout_ms: 20_000 });
    const goodEp = await createEndpoint(s, { url: `${good.url}/good` });
    const calls = [await placeCall(s), await placeCall(s), await placeCall(s)];
    for (const c of calls) await waitEnded(s, c);

    const started = Date.now();
    await waitFor(() => {
      const got = hooks(good.requests);
      return calls.every((c) => ofCall(got, c).length === 5);
    }, 10_000, 'every event at the good endpoint');
    assert.ok(Date.now() - started < 5000, 'the good endpoint was served promptly');
    for (const c of calls) assert.deepEqual(ofCall(hooks(good.requests), c).map((h) => h.seq), [1, 2, 3, 4, 5]);

    // Meanwhile the hanging endpoint holds each call's first event, and nothing after it.
    await waitFor(() => hang.requests.length === calls.length, 5000, 'the first event of each call at the hanging endpoint');
    assert.equal(open.length, calls.length);
    assert.ok(open.every((res) => !res.writableEnded), 'the hanging endpoint answered nothing');
    assert.deepEqual(hooks(hang.requests).map((h) => h.seq), calls.map(() => 1));
    assert.deepEqual(new Set(hooks(hang.requests).map((h) => h.call_id)), new Set(calls));
    const held = await deliveries(s, { target_id: hangEp.id });
    // Each call's first event is under way; the rest wait for it — also those a claim leased
    // with it (a chain, README "Order per call"): nothing of them is sent before the head is done.
    assert.deepEqual(held.filter((d) => d.event_seq === 1).map((d) => d.status), calls.map(() => 'delivering'));
    const behind = held.filter((d) => d.event_seq > 1);
    assert.equal(behind.length, calls.length * 4);
    assert.ok(behind.every((d) => d.status === 'pending' && d.waiting_for_earlier_event), JSON.stringify(behind.map((d) => [d.event_seq, d.status, d.waiting_for_earlier_event])));
    assert.equal((await deliveries(s, { target_id: hangEp.id, status: 'delivering' })).length, calls.length, 'only the heads are under way');
    // (the log records an attempt just after its answer: wait for the last ones)
    await waitFor(async () => (await deliveries(s, { target_id: goodEp.id })).filter((d) => d.status === 'succeeded').length === calls.length * 5,
      5000, 'the good endpoint’s deliveries to be succeeded in the log');
  } finally {
    if (hangEp) await s.api('DELETE', `/v1/endpoints/${hangEp.id}`);
    await hang.close();
    await good.close();
  }
});

test('an endpoint’s concurrency limit holds: never more requests in flight than it allows', async () => {
  const rx = await startReceiver();
  let inFlight = 0;
  let most = 0;
  rx.respond(async (_r, res) => {
    inFlight += 1;
    most = Math.max(most, inFlight);
    await new Promise((r) => setTimeout(r, 40));
    inFlight -= 1;
    answer(res, 200);
  });
  try {
    const ep = await createEndpoint(s, { url: `${rx.url}/limited`, events: ['call.accepted'], concurrency: 2 });
    const calls = await Promise.all(Array.from({ length: 12 }, () => placeCall(s, { ring_ms: 5000 })));
    await waitFor(() => hooks(rx.requests).length >= calls.length, 10_000, 'every call’s first event');
    assert.deepEqual(new Set(hooks(rx.requests).map((h) => h.call_id)), new Set(calls));
    assert.ok(most <= 2, `${most} requests were in flight at once to an endpoint with concurrency 2`);
    assert.ok(most >= 2, 'the endpoint got its two slots');
    await s.api('DELETE', `/v1/endpoints/${ep.id}`);
    for (const c of calls) await s.api('POST', `/v1/calls/${c}/hangup`);
  } finally {
    await rx.close();
  }
});
