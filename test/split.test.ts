/**
 * Issue 10, split mode (SQLite, --threads 2): the API on the main thread, the engine and the
 * dispatcher on a thread of their own over the same WAL database. Calls and batched switch
 * events are delivered in order per call; the delivery log, retries and /metrics answer from
 * the thread that owns the queue; a kill -9 loses nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { spawnHookline, stopChild, type Child } from './cli-child.ts';
import { API_KEY, request, startHookline, startReceiver, tempDir, waitFor, type TestServer } from './helpers.ts';
import { answer, createEndpoint, deliveries, hook, placeCall, waitDelivery, waitEnded } from './delivery-helpers.ts';

test('split mode: calls and batched events delivered in order; log, retry and metrics from the delivery thread', async () => {
  const data = tempDir('hookline-split-');
  const rx = await startReceiver();
  let s: TestServer | undefined;
  try {
    let failOnce = true;
    rx.respond((r, res) => {
      // The very first request fails, so one delivery needs a manual retry later.
      if (failOnce && r.url === '/split') {
        failOnce = false;
        return answer(res, 500);
      }
      answer(res, 200);
    });
    s = await startHookline({ dataDir: data.dir, threads: 2, retryScheduleMs: [] });
    const ep = await createEndpoint(s.url, { url: `${rx.url}/split`, events: ['call.accepted'] });
    const all = await createEndpoint(s.url, { url: `${rx.url}/all`, concurrency: 64 });
    const calls = await Promise.all(Array.from({ length: 20 }, () => placeCall(s!.url, { ring_ms: 5, talk_ms: 5 })));
    const u = randomUUID();
    const events = [];
    for (const [i, type] of ['leg.initiated', 'leg.ringing', 'leg.answered', 'call.ended'].entries()) {
      for (let c = 0; c < 50; c++) {
        events.push({ event_id: `${u}-${c}-${i}`, call_id: `sw-${u}-${c}`, type, ...(i === 0 ? { from: '+1555', to: '+1556', direction: 'outbound' } : {}), ...(i === 3 ? { outcome: 'completed' } : {}) });
      }
    }
    const batch = await request(s.url, 'POST', '/v1/call-events', { events });
    assert.equal(batch.status, 200);
    const switchCalls = [...new Set((batch.body.data as { call_id: string }[]).map((x) => x.call_id))];
    assert.equal(switchCalls.length, 50);

    const expected = new Map<string, number>();
    for (const id of calls) expected.set(id, (await waitEnded(s.url, id)).events.length);
    for (const id of switchCalls) expected.set(id, 4);
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    const got = await waitFor(() => {
      const hs = rx.requests.filter((r) => r.url === '/all').map(hook);
      return hs.length >= total ? hs : null;
    }, 15_000, `${total} deliveries to the second endpoint`);
    for (const [id, n] of expected) {
      assert.deepEqual(got.filter((h) => h.call_id === id).map((h) => h.seq), Array.from({ length: n }, (_, i) => i + 1), `call ${id} in order`);
    }
    // Each body as received verifies (the delivery thread signs and sends the bytes it was
    // handed, packed-offers.ts) and is the JSON of the event.
    const verifier = new StandardWebhook(all.secret as string);
    for (const r of rx.requests.filter((x) => x.url === '/all')) {
      const payload = verifier.verify(r.body, r.headers as Record<string, string>) as { type: string };
      assert.deepEqual(payload, JSON.parse(r.body));
    }

    // The log and the retry go through the delivery thread, which owns the queue.
    const dead = await waitFor(async () => (await deliveries(s!.url, { target_id: ep.id, status: 'dead' }))[0], 10_000, 'the failed delivery to be dead');
    const retried = await request(s.url, 'POST', `/v1/deliveries/${dead.id}/retry`);
    assert.equal(retried.status, 202, JSON.stringify(retried.body));
    await waitDelivery(s.url, dead.id, 'succeeded');

    // /metrics: each metric once, the dispatcher's among them.
    const text = await (await fetch(`${s.url}/metrics`)).text();
    const helps = text.split('\n').filter((l) => l.startsWith('# HELP '));
    assert.equal(new Set(helps).size, helps.length, 'no metric appears twice');
    assert.match(text, /hookline_delivery_attempts_total\{format="standard",result="succeeded"\} \d+/);
    assert.match(text, /hookline_deliveries\{status="dead"\} 0/);
  } finally {
    await s?.stop();
    await rx.close();
    data.remove();
  }
});

test('split mode: kill -9 mid-burst, restart: every event arrives, in order', async () => {
  const data = tempDir('hookline-split-kill-');
  const rx = await startReceiver();
  let first: Child | undefined;
  let second: Child | undefined;
  try {
    rx.respond(async (_r, res) => {
      await new Promise((r) => setTimeout(r, 5));
      answer(res, 200);
    });
    const args = ['--data-dir', data.dir, '--api-key', API_KEY, '--allow-private-targets', '--threads', '2'];
    first = await spawnHookline(args);
    await createEndpoint(first.url, { url: `${rx.url}/k` });
    const calls = await Promise.all(Array.from({ length: 40 }, (_, i) => placeCall(first!.url, { ring_ms: 10 + i, talk_ms: 30 + i * 5 })));
    await waitFor(() => rx.requests.length >= 40, 10_000, 'deliveries under way');
    await stopChild(first);
    second = await spawnHookline(args);
    for (const id of calls) {
      const n: number = (await waitEnded(second.url, id, 15_000)).events.length;
      const seqs = await waitFor(() => {
        const s = rx.requests.map(hook).filter((h) => h.call_id === id).map((h) => h.seq);
        return new Set(s).size >= n ? s : null;
      }, 15_000, `call ${id} delivered`);
      const firsts = seqs.filter((x, i) => seqs.indexOf(x) === i);
      assert.deepEqual(firsts, Array.from({ length: n }, (_, i) => i + 1), `call ${id} in order: ${seqs.join(',')}`);
    }
  } finally {
    await stopChild(first);
    await stopChild(second);
    await rx.close();
    data.remove();
  }
});

test('split mode: re-enable a disabled endpoint, then recover its dead deliveries at once: they are sent (the delivery thread hears of the write)', async () => {
  const data = tempDir('hookline-split-');
  const rx = await startReceiver();
  let s: TestServer | undefined;
  try {
    s = await startHookline({ dataDir: data.dir, threads: 2, retryScheduleMs: [] });
    const ep = await createEndpoint(s.url, { url: `${rx.url}/off`, enabled: false });
    const callId = await placeCall(s.url, { ring_ms: 5, talk_ms: 5 });
    const n: number = (await waitEnded(s.url, callId)).events.length;
    await waitFor(async () => {
      const ds = await deliveries(s!.url, { call_id: callId, target_id: ep.id });
      return ds.length === n && ds.every((x) => x.status === 'dead');
    }, 10_000, 'the disabled endpoint’s deliveries to be dead');
    // No pause: the delivery thread's cache of the targets was loaded a moment ago, disabled.
    const on = await request(s.url, 'PATCH', `/v1/endpoints/${ep.id}`, { enabled: true });
    assert.equal(on.status, 200, JSON.stringify(on.body));
    const rec = await request(s.url, 'POST', '/v1/deliveries/recover', { target_id: ep.id });
    assert.equal(rec.body.retried, n, JSON.stringify(rec.body));
    const ds = await waitFor(async () => {
      const all = await deliveries(s!.url, { call_id: callId, target_id: ep.id });
      return all.every((x) => x.status === 'succeeded' || x.status === 'dead') && all.some((x) => x.attempts.length > 1) ? all : null;
    }, 10_000, 'the recovered deliveries to settle');
    assert.deepEqual(ds.map((x) => [x.status, x.last_error]), ds.map(() => ['succeeded', null]), 'recovered deliveries sent, not given up again');
    assert.equal(rx.requests.length, n);
  } finally {
    await s?.stop();
    await rx.close();
    data.remove();
  }
});

test('split mode: an endpoint disabled through the API is given up at once by the delivery thread, not sent for its cache’s last second', async () => {
  const data = tempDir('hookline-split-');
  const rx = await startReceiver();
  let s: TestServer | undefined;
  try {
    s = await startHookline({ dataDir: data.dir, threads: 2, retryScheduleMs: [] });
    const ep = await createEndpoint(s.url, { url: `${rx.url}/soon-off`, events: ['call.accepted'] });
    // One delivery sent: the delivery thread has read the endpoint, enabled, a moment ago.
    await waitEnded(s.url, await placeCall(s.url, { ring_ms: 5, talk_ms: 5 }));
    await waitFor(() => rx.requests.length === 1, 10_000, 'the first delivery');
    const off = await request(s.url, 'PATCH', `/v1/endpoints/${ep.id}`, { enabled: false });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    const callId = await placeCall(s.url, { ring_ms: 5, talk_ms: 5 });
    const [d] = await waitFor(async () => {
      const ds = await deliveries(s!.url, { call_id: callId, target_id: ep.id });
      return ds.length === 1 && ds[0].status !== 'pending' && ds[0].status !== 'delivering' ? ds : null;
    }, 10_000, 'the second call’s delivery to settle');
    assert.equal(d.status, 'dead');
    assert.equal(d.last_error, 'target disabled: disabled by the user');
    assert.equal(rx.requests.length, 1, 'nothing sent after the disable');
  } finally {
    await s?.stop();
    await rx.close();
    data.remove();
  }
});
