/**
 * Issue 3: retries. A delivery that fails (500, timeout, connection reset) is tried again with the
 * same webhook-id until it succeeds, each attempt in the log; after the schedule it is dead and
 * a manual retry sends it again; Retry-After on 429/503 is honoured; 410 Gone disables the endpoint.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { startHookline, startReceiver, waitFor, type Received, type Receiver, type TestServer } from './helpers.ts';
import { answer, createEndpoint, deliveries, hooks, placeCall, recoverInOrder, waitDelivery, waitEnded } from './delivery-helpers.ts';

// Two retries 20 ms apart: three attempts in all, then dead.
const SCHEDULE = [20, 20];

let s: TestServer;
before(async () => {
  s = await startHookline({ retryScheduleMs: SCHEDULE });
});
after(async () => {
  await s.stop();
});

/** A receiver that answers `first` to the first request of each delivery (by webhook-id) and 200 after. */
async function failFirst(first: (r: Received, res: ServerResponse) => void): Promise<Receiver> {
  const rx = await startReceiver();
  const seen = new Set<string>();
  rx.respond((r, res) => {
    const id = String(r.headers['webhook-id']);
    if (seen.has(id)) return answer(res, 200);
    seen.add(id);
    first(r, res);
  });
  return rx;
}

/** One endpoint for call.accepted only, one call: answers the one delivery once it is `status`. */
async function oneDelivery(rx: Receiver, status: string, endpoint: Record<string, unknown> = {}): Promise<{ ep: any; d: any }> {
  const ep = await createEndpoint(s, { url: `${rx.url}/hook`, events: ['call.accepted'], ...endpoint });
  const callId = await placeCall(s);
  const [first] = await waitFor(async () => {
    const ds = await deliveries(s, { call_id: callId, target_id: ep.id });
    return ds.length === 1 ? ds : null;
  });
  return { ep, d: await waitDelivery(s, first.id, status) };
}

/** The receiver saw exactly `n` requests, all carrying the delivery's id, numbered 1..n. */
function assertSameId(rx: Receiver, deliveryId: string, n: number): void {
  const got = hooks(rx.requests);
  assert.equal(got.length, n, `receiver saw ${got.length} requests, expected ${n}`);
  assert.deepEqual(got.map((h) => h.id), Array<string>(n).fill(deliveryId), 'webhook-id is the delivery id on every attempt');
  assert.deepEqual(got.map((h) => h.attempt), got.map((_, i) => i + 1), 'hookline-attempt counts the attempts');
}

function assertSecondSucceeded(d: any): void {
  assert.equal(d.status, 'succeeded');
  assert.equal(d.attempt_count, 2);
  assert.equal(d.attempts.length, 2);
  assert.deepEqual(d.attempts.map((a: any) => a.attempt), [1, 2]);
  assert.equal(d.attempts[1].status_code, 200);
  assert.equal(d.attempts[1].error, null);
  assert.equal(d.attempts[1].response_excerpt, 'answer 200');
  for (const a of d.attempts) {
    assert.equal(a.request.headers['webhook-id'], d.id);
    assert.equal(typeof a.duration_ms, 'number');
  }
}

test('a 500 is retried with the same webhook-id, then succeeds; both attempts are in the log', async () => {
  const rx = await failFirst((_r, res) => answer(res, 500, { 'x-why': 'broken' }));
  try {
    const { d } = await oneDelivery(rx, 'succeeded');
    assertSameId(rx, d.id, 2);
    assertSecondSucceeded(d);
    const [a] = d.attempts;
    assert.equal(a.status_code, 500);
    assert.match(a.error, /500/);
    assert.equal(a.response_excerpt, 'answer 500');
    assert.equal(a.response_headers['x-why'], 'broken');
    assert.equal(a.request.method, 'POST');
    assert.equal(a.request.url, `${rx.url}/hook`);
  } finally {
    await rx.close();
  }
});

test('a timeout is retried: the first attempt hangs past timeout_ms and is logged as a timeout', async () => {
  const rx = await failFirst(() => {
    // never answer: the socket stays open until Hookline gives up (or the receiver closes)
  });
  try {
    const { d } = await oneDelivery(rx, 'succeeded', { timeout_ms: 300 });
    assertSameId(rx, d.id, 2);
    assertSecondSucceeded(d);
    const [a] = d.attempts;
    assert.equal(a.status_code, null);
    assert.match(a.error, /timeout/i);
    assert.ok(a.duration_ms >= 250 && a.duration_ms < 5000, `timed out after ${a.duration_ms} ms with timeout_ms 300`);
    const got = hooks(rx.requests);
    assert.ok(got[1]!.at - got[0]!.at >= 250, 'the retry came after the timeout');
  } finally {
    await rx.close();
  }
});

test('a connection reset is retried, then succeeds', async () => {
  const rx = await failFirst((_r, res) => res.socket?.destroy());
  try {
    const { d } = await oneDelivery(rx, 'succeeded');
    assertSameId(rx, d.id, 2);
    assertSecondSucceeded(d);
    const [a] = d.attempts;
    assert.equal(a.status_code, null);
    assert.equal(typeof a.error, 'string');
    assert.ok(a.error.length > 0);
    assert.doesNotMatch(a.error, /timeout/);
  } finally {
    await rx.close();
  }
});

test('after the schedule the delivery is dead; a manual retry sends it again with the same webhook-id', async () => {
  const rx = await startReceiver();
  try {
    rx.respond((_r, res) => answer(res, 500));
    const { ep, d } = await oneDelivery(rx, 'dead');
    assertSameId(rx, d.id, SCHEDULE.length + 1);
    assert.equal(d.attempt_count, 3);
    assert.deepEqual(d.attempts.map((a: any) => [a.attempt, a.status_code]), [[1, 500], [2, 500], [3, 500]]);
    assert.equal(d.next_attempt_at, null);
    assert.equal(d.last_status_code, 500);

    // The log shows the body sent (the same every attempt), on the page of one delivery only
    const one = (await s.api('GET', `/v1/deliveries/${d.id}`)).body;
    assert.equal(one.request.body, rx.requests[0]!.body);
    assert.ok(!('body' in (await deliveries(s, { target_id: ep.id }))[0].request), 'not in lists');

    // Dead is final until someone asks: nothing more arrives on its own.
    const dead = await deliveries(s, { target_id: ep.id, status: 'dead' });
    assert.deepEqual(dead.map((x) => x.id), [d.id]);

    rx.respond((_r, res) => answer(res, 200));
    const retried = await s.api('POST', `/v1/deliveries/${d.id}/retry`);
    assert.equal(retried.status, 202, JSON.stringify(retried.body));
    assert.equal(retried.body.id, d.id);
    assert.ok(['pending', 'delivering', 'succeeded'].includes(retried.body.status), retried.body.status);

    const done = await waitDelivery(s, d.id, 'succeeded');
    assertSameId(rx, d.id, 4);
    assert.deepEqual(done.attempts.map((a: any) => [a.attempt, a.status_code]), [[1, 500], [2, 500], [3, 500], [4, 200]]);

    const missing = await s.api('POST', '/v1/deliveries/msg_does_not_exist/retry');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'not_found');
  } finally {
    await rx.close();
  }
});

for (const status of [429, 503]) {
  test(`a ${status} with Retry-After: 1 delays the next attempt by a second, though the schedule says 20 ms`, async () => {
    const rx = await failFirst((_r, res) => answer(res, status, { 'retry-after': '1' }));
    try {
      const { d } = await oneDelivery(rx, 'succeeded');
      assertSameId(rx, d.id, 2);
      const [first, second] = hooks(rx.requests);
      const gap = second!.at - first!.at;
      assert.ok(gap >= 950, `the retry came ${gap} ms after the ${status}`);
      assert.ok(gap < 5000, `the retry came ${gap} ms after the ${status}: Retry-After was 1 s`);
      assert.equal(d.attempts[0].status_code, status);
      assert.equal(d.attempts[0].response_headers['retry-after'], '1');
    } finally {
      await rx.close();
    }
  });
}

test('without Retry-After a 503 is retried on the schedule (control for the test above)', async () => {
  const rx = await failFirst((_r, res) => answer(res, 503));
  try {
    const { d } = await oneDelivery(rx, 'succeeded');
    const [first, second] = hooks(rx.requests);
    assert.ok(second!.at - first!.at < 900, `the retry came ${second!.at - first!.at} ms later`);
    assert.equal(d.attempts[0].status_code, 503);
  } finally {
    await rx.close();
  }
});

test('410 Gone disables the endpoint; later calls get dead rows for it, nothing sent; PATCH enabled:true re-enables it', async () => {
  const rx = await startReceiver();
  try {
    rx.respond((_r, res) => answer(res, 410));
    const ep = await createEndpoint(s, { url: `${rx.url}/gone` });
    const call1 = await placeCall(s);
    await waitEnded(s, call1);
    // Events fanned out before the 410 was recorded are given up (dead, not sent); later ones of
    // the same call may have found the endpoint disabled already and made no delivery.
    const first = await waitFor(async () => {
      const ds = await deliveries(s, { call_id: call1, target_id: ep.id });
      return ds.length > 0 && ds.every((x) => x.status === 'dead') ? ds : null;
    }, 10_000, 'every delivery of the first call to be dead');
    const accepted = first.find((x) => x.event_type === 'call.accepted');
    assert.equal(accepted.attempts.length, 1, '410 is not retried');
    assert.equal(accepted.attempts[0].status_code, 410);
    for (const x of first.filter((y) => y.event_type !== 'call.accepted')) {
      assert.deepEqual(x.attempts.map((a: any) => a.status_code), [null], 'given up without a request');
      assert.match(x.last_error, /disabled/);
    }
    assert.equal(hooks(rx.requests).filter((h) => h.call_id === call1).length, 1, 'only the first event reached the receiver');

    const view = await s.api('GET', `/v1/endpoints/${ep.id}`);
    assert.equal(view.body.enabled, false);
    assert.match(view.body.disabled_reason, /410/);
    // Deliveries given up because the endpoint is disabled are not successes.
    assert.equal(view.body.last_success_at, null, 'a 410 and deliveries never sent are not a success');
    assert.notEqual(view.body.failing_since, null);

    const seen = rx.requests.length;
    const call2 = await placeCall(s);
    await waitEnded(s, call2);
    // Issue 11: a disabled endpoint still gets its rows, dead with the reason, nothing sent.
    const dead = await waitFor(async () => {
      const ds = await deliveries(s, { call_id: call2, target_id: ep.id });
      return ds.length > 0 && ds.every((x) => x.status === 'dead') ? ds : null;
    }, 10_000, 'the second call’s rows to be dead');
    for (const x of dead) assert.equal(x.last_error, 'target disabled: the target answered 410 Gone');
    assert.equal(rx.requests.length, seen, 'nothing sent to a disabled endpoint');

    rx.respond((_r, res) => answer(res, 200));
    const patched = await s.api('PATCH', `/v1/endpoints/${ep.id}`, { enabled: true });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.enabled, true);
    assert.equal(patched.body.disabled_reason, null);
    assert.equal((await s.api('GET', `/v1/endpoints/${ep.id}`)).body.enabled, true);

    const call3 = await placeCall(s);
    await waitFor(() => hooks(rx.requests).filter((h) => h.call_id === call3).length === 5, 10_000, 'the third call’s events');
    assert.equal(hooks(rx.requests.slice(seen)).filter((h) => h.call_id === call2).length, 0, 'nothing of the second call arrived');
    const third = await waitFor(async () => {
      const ds = await deliveries(s, { call_id: call3, target_id: ep.id });
      return ds.length === 5 && ds.every((x) => x.status === 'succeeded') ? ds : null;
    });
    assert.equal(third.length, 5);
  } finally {
    await rx.close();
  }
});

test('410 Gone on a call’s first event: its later events, sent right behind it in one chain, are given up unsent', async () => {
  const rx = await startReceiver();
  try {
    rx.respond((r, res) => answer(res, r.headers['hookline-seq'] === '1' ? 410 : 200));
    const ep = await createEndpoint(s, { url: `${rx.url}/gone-chain` });
    const sw = `sw-gone-${Date.now()}`;
    const types = ['leg.initiated', 'leg.ringing', 'leg.answered', 'call.ended'];
    const events = types.map((type, i) => ({
      event_id: `${sw}-${i}`, call_id: sw, type, ...(i === 0 ? { from: '+15550300001', to: '+15550300002', direction: 'outbound' } : {}),
      ...(type === 'call.ended' ? { outcome: 'completed' } : {}),
    }));
    const r = await s.api('POST', '/v1/call-events', { events });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const callId = r.body.data[0].call_id as string;
    const ds = await waitFor(async () => {
      const all = await deliveries(s, { call_id: callId, target_id: ep.id });
      return all.length === types.length && all.every((x) => x.status === 'dead') ? all : null;
    }, 10_000, 'every delivery of the call to be dead');
    assert.deepEqual(hooks(rx.requests).map((h) => h.seq), [1], 'only the event that got the 410 was sent');
    for (const x of ds.filter((y) => y.event_seq !== 1)) assert.equal(x.last_error, 'target disabled: the target answered 410 Gone');
    const view = (await s.api('GET', `/v1/endpoints/${ep.id}`)).body;
    assert.equal(view.enabled, false);
    assert.equal(view.last_success_at, null, 'nothing after the 410 counted as a success');
  } finally {
    await rx.close();
  }
});

test('an endpoint’s URL fixed after its delivery died: the manual retry goes to the new URL, logged so', async () => {
  const rx = await startReceiver();
  try {
    rx.respond((r, res) => answer(res, r.url === '/fixed' ? 200 : 500));
    const { ep, d } = await oneDelivery(rx, 'dead', { url: `${rx.url}/typo` });
    const patched = await s.api('PATCH', `/v1/endpoints/${ep.id}`, { url: `${rx.url}/fixed` });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal((await s.api('POST', `/v1/deliveries/${d.id}/retry`)).status, 202);
    const done = await waitDelivery(s, d.id, 'succeeded');
    assert.deepEqual(rx.requests.map((r) => r.url), [...Array<string>(SCHEDULE.length + 1).fill('/typo'), '/fixed']);
    assert.equal(done.attempts.at(-1).request.url, `${rx.url}/fixed`);
    assert.equal(done.request.url, `${rx.url}/typo`, 'the request as first rendered');
  } finally {
    await rx.close();
  }
});

test('the log keeps the first 4 KiB of an answer; a very long answer is cut off and still counts as answered', async () => {
  // 10 KiB: read whole, logged cut to 4 KiB. 1 MiB: the read stops past 64 KiB (the socket is
  // given up), the attempt is still the 200 it was.
  for (const size of [10 * 1024, 1024 * 1024]) {
    const rx = await startReceiver();
    const body = Array.from({ length: size }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    rx.respond((_r, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-answer': 'long' }).end(body);
    });
    try {
      const { d } = await oneDelivery(rx, 'succeeded');
      const full = (await s.api('GET', `/v1/deliveries/${d.id}`)).body;
      assert.equal(full.attempts.length, 1);
      const a = full.attempts[0];
      assert.equal(a.status_code, 200);
      assert.equal(a.error, null);
      assert.equal(a.response_excerpt, body.slice(0, 4096));
      assert.equal(a.response_headers['x-answer'], 'long');
      assert.equal(a.response_headers['content-type'], 'text/plain');
    } finally {
      await rx.close();
    }
  }
});

test('the 4 KiB excerpt never ends in a character cut in two (no U+FFFD where the cut fell)', async () => {
  const rx = await startReceiver();
  const body = `x${'é'.repeat(3000)}`; // 6,001 bytes: the 4,096th byte is the first of an é
  rx.respond((_r, res) => {
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
  });
  try {
    const { d } = await oneDelivery(rx, 'dead');
    const a = (await s.api('GET', `/v1/deliveries/${d.id}`)).body.attempts[0];
    assert.ok(!a.response_excerpt.includes('\uFFFD'), `the excerpt ends ${JSON.stringify(a.response_excerpt.slice(-3))}`);
    assert.ok(body.startsWith(a.response_excerpt));
    assert.equal(Buffer.byteLength(a.response_excerpt), 4095);
  } finally {
    await rx.close();
  }
});

test('an answer whose head came and whose body never ended: retried, and the log keeps the status and headers it said', async () => {
  const rx = await startReceiver();
  rx.respond((_r, res) => {
    res.writeHead(200, { 'content-length': '100', 'x-said': 'ok' });
    res.write('partial'); // 7 of 100 bytes, then nothing
  });
  try {
    const { d } = await oneDelivery(rx, 'dead', { timeout_ms: 300 });
    const a = (await s.api('GET', `/v1/deliveries/${d.id}`)).body.attempts[0];
    assert.equal(a.status_code, null, 'not an answer: it never ended');
    assert.equal(a.error, "timeout after the answer's head (HTTP 200), before its end");
    assert.equal(a.response_headers['x-said'], 'ok');
  } finally {
    await rx.close();
  }
});

test('recover: every dead delivery of a target sent again, oldest first, so each call\'s events arrive in their order', async () => {
  await recoverInOrder(s);
});
