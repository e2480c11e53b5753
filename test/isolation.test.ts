/**
 * Issue 9, isolation: one endpoint that accepts connections and never answers, and one that
 * answers 500 at once (with a short retry schedule, so its retries pile up), next to a healthy
 * endpoint in the same account. The healthy endpoint still gets every event of every call, in
 * order, while the other two fail; the hanging one is backed off to fewer parallel requests.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { startHookline, startReceiver, waitFor, type Receiver, type TestServer } from './helpers.ts';
import { createEndpoint, hook, placeCall, waitEnded } from './delivery-helpers.ts';

test('a hanging and a 500-answering endpoint do not hold up a healthy one; the hanging one gets fewer slots', async () => {
  let app: TestServer | undefined;
  const receivers: Receiver[] = [];
  const held: ServerResponse[] = [];
  try {
    const healthy = await startReceiver();
    const hanging = await startReceiver();
    const failing = await startReceiver();
    receivers.push(healthy, hanging, failing);
    let open = 0;
    const opens: number[] = [];
    hanging.respond((_r, res) => {
      // Never answered: held until the sender's timeout cuts the request.
      open += 1;
      opens.push(open);
      held.push(res);
      res.on('close', () => (open -= 1));
    });
    failing.respond((_r, res) => {
      res.writeHead(500).end('no');
    });

    app = await startHookline({ retryScheduleMs: [20, 20, 50, 50, 100, 100, 100, 100] });
    await createEndpoint(app.url, { url: `${hanging.url}/hang`, timeout_ms: 300, concurrency: 16 });
    await createEndpoint(app.url, { url: `${failing.url}/fail` });
    await createEndpoint(app.url, { url: `${healthy.url}/ok` });

    // Calls keep coming for ~3 s: the hanging endpoint times out again and again meanwhile.
    const calls: string[] = [];
    for (let i = 0; i < 30; i++) {
      calls.push(await placeCall(app.url, { ring_ms: 5, talk_ms: 10 }));
      await new Promise((r) => setTimeout(r, 100));
    }
    const timelines = new Map<string, number>();
    for (const id of calls) timelines.set(id, (await waitEnded(app.url, id, 10_000)).events.length);
    const expected = [...timelines.values()].reduce((a, b) => a + b, 0);

    const got = await waitFor(() => {
      const hs = healthy.requests.map(hook);
      return new Set(hs.map((h) => h.id)).size >= expected ? hs : null;
    }, 15_000, `all ${expected} events at the healthy endpoint`);
    for (const id of calls) {
      const seqs = got.filter((h) => h.call_id === id).map((h) => h.seq);
      assert.deepEqual(seqs, Array.from({ length: timelines.get(id)! }, (_, i) => i + 1), `call ${id} in order at the healthy endpoint`);
    }
    assert.ok(failing.requests.length > calls.length, 'the failing endpoint was tried and retried');
    assert.ok(hanging.requests.length > 0, 'the hanging endpoint was tried');
    // 16 slots at first; after timeouts, at most a few at once (halved on each timeout, down to 1).
    const late = opens.slice(Math.floor(opens.length / 2));
    assert.ok(Math.max(...late) < 16, `open requests at the hanging endpoint late in the run: ${late.join(',')}`);
  } finally {
    for (const res of held) res.destroy();
    await app?.stop();
    for (const r of receivers) await r.close();
  }
});

test('a target that fails every request is paused between attempts (circuit breaker); a success closes it', async () => {
  let app: TestServer | undefined;
  const receivers: Receiver[] = [];
  try {
    const healthy = await startReceiver();
    const failing = await startReceiver();
    receivers.push(healthy, failing);
    let fail = true;
    failing.respond((_r, res) => void res.writeHead(fail ? 500 : 200).end(fail ? 'no' : 'ok'));
    // Ten quick retries: without the breaker, 20 calls make ~220 requests to it in a few hundred ms.
    app = await startHookline({ retryScheduleMs: Array.from({ length: 10 }, () => 20) });
    await createEndpoint(app.url, { url: `${failing.url}/fail`, concurrency: 16 });
    await createEndpoint(app.url, { url: `${healthy.url}/ok` });
    const calls = await Promise.all(Array.from({ length: 20 }, () => placeCall(app!.url, { ring_ms: 5, talk_ms: 5 })));
    const t0 = Date.now();
    await waitFor(() => new Set(healthy.requests.map(hook).map((h) => h.id)).size >= calls.length * 4, 10_000, 'the healthy endpoint to get every event');
    await new Promise((r) => setTimeout(r, Math.max(0, 600 - (Date.now() - t0))));
    const inFirst = failing.requests.filter((r) => r.at - t0 <= 600).length;
    // Paused 20 ms (the first retry delay) between single attempts once 3 failed in a row.
    assert.ok(inFirst < 80, `${inFirst} requests to the failing endpoint in 600 ms`);
    // It recovers: once it answers 200 again, the rest of its deliveries go through.
    fail = false;
    await waitFor(() => failing.requests.length > inFirst + 20, 10_000, 'the recovered endpoint to be served again');
  } finally {
    await app?.stop();
    for (const r of receivers) await r.close();
  }
});
