/**
 * Issue 12, Done-when 4: GET /v1/stream, the server-sent events of an account's call events and
 * delivery results. Order per call, resume with Last-Event-ID, tenant isolation, tokens for
 * EventSource, and a stalled reader that neither slows deliveries nor holds memory unbounded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTenant, assertProblem } from './call-helpers.ts';
import { createEndpoint, deliveries, placeCall, waitEnded } from './delivery-helpers.ts';
import { request, startHookline, startReceiver, tempDir, waitFor, type TestServer } from './helpers.ts';
import { openStream, type SseEvent, type SseReader } from './stream-helpers.ts';

const callEvents = (evs: SseEvent[], callId: string) => evs.filter((e) => e.event === 'call.event' && e.data.call_id === callId);
const results = (evs: SseEvent[], callId: string) => evs.filter((e) => e.event === 'delivery.result' && e.data.call_id === callId);

/** Every call's events arrived in seq order, as its timeline, and one result per delivery. */
async function assertCallsStreamed(s: TestServer, reader: SseReader, calls: string[]): Promise<void> {
  for (const id of calls) {
    const call = await waitEnded(s.url, id);
    const ds = await waitFor(async () => {
      const list = await deliveries(s.url, { call_id: id });
      return list.length > 0 && list.every((d) => d.status === 'succeeded') ? list : null;
    }, 10_000, `deliveries of ${id}`);
    await reader.until((evs) => results(evs, id).length >= ds.length && callEvents(evs, id).some((e) => e.data.type === 'call.ended'), 10_000, `stream of ${id}`);
    const streamed = callEvents(reader.events, id);
    assert.deepEqual(streamed.map((e) => e.data.seq), call.events.map((e: { seq: number }) => e.seq), `order of ${id}`);
    assert.deepEqual(streamed.map((e) => e.data.type), call.events.map((e: { type: string }) => e.type));
    assert.equal(streamed.at(-1)!.data.call.status, 'ended');
    const got = results(reader.events, id);
    assert.deepEqual(new Set(got.map((e) => e.data.delivery_id)), new Set(ds.map((d) => d.id)));
    for (const e of got) {
      assert.equal(e.data.status, 'succeeded');
      assert.equal(e.data.status_code, 200);
      assert.equal(e.data.target.format, 'standard');
    }
  }
}

test('stream: call events in order per call and every delivery result, live', async (t) => {
  const rx = await startReceiver();
  const s = await startHookline();
  t.after(async () => {
    await s.stop();
    await rx.close();
  });
  await createEndpoint(s.url, { url: `${rx.url}/all` });
  const reader = await openStream(s.url, '/v1/stream', { key: s.key });
  t.after(() => reader.close());
  assert.equal(reader.status, 200);
  assert.match(String(reader.res.headers['content-type']), /^text\/event-stream/);
  const calls = await Promise.all(Array.from({ length: 5 }, () => placeCall(s.url, { ring_ms: 5, talk_ms: 5 })));
  await assertCallsStreamed(s, reader, calls);
  // ids only grow
  const ns = reader.events.map((e) => Number(e.id!.split('.')[1]));
  assert.deepEqual(ns, [...ns].sort((a, b) => a - b));
  assert.equal(new Set(ns).size, ns.length);
});

test('stream: split mode (results from the delivery thread) streams the same', async (t) => {
  const data = tempDir('hookline-stream-split-');
  const rx = await startReceiver();
  const s = await startHookline({ dataDir: data.dir, threads: 2 });
  t.after(async () => {
    await s.stop();
    await rx.close();
    data.remove();
  });
  await createEndpoint(s.url, { url: `${rx.url}/all` });
  const reader = await openStream(s.url, '/v1/stream', { key: s.key });
  t.after(() => reader.close());
  const calls = await Promise.all(Array.from({ length: 3 }, () => placeCall(s.url, { ring_ms: 5, talk_ms: 5 })));
  await assertCallsStreamed(s, reader, calls);
});

test('stream: Last-Event-ID resumes after the last event received; an unknown id gets a reset', async (t) => {
  const s = await startHookline();
  t.after(() => s.stop());
  const first = await openStream(s.url, '/v1/stream', { key: s.key });
  const a = await placeCall(s.url, { ring_ms: 5, talk_ms: 5 });
  await first.until((evs) => callEvents(evs, a).some((e) => e.data.type === 'call.ended'));
  const seen = callEvents(first.events, a);
  assert.ok(seen.length >= 4);
  const cut = seen[1]!.id!;
  first.close();

  // Missed while away: the rest of call a, and all of call b.
  const b = await placeCall(s.url, { ring_ms: 5, talk_ms: 5 });
  await waitEnded(s.url, b);
  const again = await openStream(s.url, '/v1/stream', { key: s.key, lastEventId: cut });
  t.after(() => again.close());
  await again.until((evs) => callEvents(evs, b).some((e) => e.data.type === 'call.ended'));
  const replayedA = callEvents(again.events, a);
  assert.deepEqual(replayedA.map((e) => e.id), seen.slice(2).map((e) => e.id));
  const full = (await request(s.url, 'GET', `/v1/calls/${b}`)).body;
  assert.deepEqual(callEvents(again.events, b).map((e) => e.data.seq), full.events.map((e: { seq: number }) => e.seq));
  assert.ok(!again.events.some((e) => e.event === 'reset'));

  // An id this process never gave (e.g. from before a restart): a reset, then live events.
  const stale = await openStream(s.url, '/v1/stream', { key: s.key, lastEventId: 'zzzz.12' });
  t.after(() => stale.close());
  await stale.until((evs) => evs.length >= 1);
  assert.equal(stale.events[0]!.event, 'reset');
  assert.equal(stale.events[0]!.data.reason, 'unknown_id');
  const c = await placeCall(s.url, { ring_ms: 5, talk_ms: 5 });
  await stale.until((evs) => callEvents(evs, c).some((e) => e.data.type === 'call.ended'));
  assert.equal(callEvents(stale.events, a).length, 0);
});

test('stream: tenants see only their own calls; tokens for EventSource; no key, no stream', async (t) => {
  const rx = await startReceiver();
  const s = await startHookline();
  t.after(async () => {
    await s.stop();
    await rx.close();
  });
  const other = await createTenant(s.url, 'other');
  await createEndpoint(s.url, { url: `${rx.url}/boot` });
  await createEndpoint(s.url, { url: `${rx.url}/other` }, other.api_key);

  assertProblem(await request(s.url, 'GET', '/v1/stream', undefined, { key: null }), 401, 'unauthorized');
  assertProblem(await request(s.url, 'GET', '/v1/stream?token=nope', undefined, { key: null }), 401, 'unauthorized');
  // an API key is not a stream token: keys never go into URLs
  assertProblem(await request(s.url, 'GET', `/v1/stream?token=${s.key}`, undefined, { key: null }), 401, 'unauthorized');
  const minted = await request(s.url, 'POST', '/v1/stream/tokens', undefined, { key: other.api_key });
  assert.equal(minted.status, 201);
  assert.match(minted.body.token, /^st_/);
  assert.ok(Date.parse(minted.body.expires_at) > Date.now());
  // a forged token (another account's id under the same signature) is refused
  const [body, mac] = (minted.body.token as string).slice(3).split('.');
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), a: 'acct_x' })).toString('base64url');
  assertProblem(await request(s.url, 'GET', `/v1/stream?token=st_${forged}.${mac}`, undefined, { key: null }), 401, 'unauthorized');

  const boot = await openStream(s.url, '/v1/stream', { key: s.key });
  const mine = await openStream(s.url, `/v1/stream?token=${encodeURIComponent(minted.body.token)}`, { key: null });
  t.after(() => {
    boot.close();
    mine.close();
  });
  assert.equal(mine.status, 200);
  const bootCall = await placeCall(s.url, { ring_ms: 5, talk_ms: 5 });
  const otherCall = await placeCall(s.url, { ring_ms: 5, talk_ms: 5 }, {}, other.api_key);
  // the other tenant filtering on the bootstrap account's call sees nothing of it either
  const peek = await openStream(s.url, `/v1/stream?call_id=${bootCall}`, { key: other.api_key });
  t.after(() => peek.close());
  await boot.until((evs) => results(evs, bootCall).length > 0 && callEvents(evs, bootCall).some((e) => e.data.type === 'call.ended'));
  await mine.until((evs) => results(evs, otherCall).length > 0 && callEvents(evs, otherCall).some((e) => e.data.type === 'call.ended'));
  assert.ok(boot.events.every((e) => e.data.call_id !== otherCall));
  assert.ok(mine.events.every((e) => e.data.call_id !== bootCall));
  // A later call of the other tenant reaching `peek` shows the earlier one had its chance.
  const later = await placeCall(s.url, { ring_ms: 5, talk_ms: 5 }, {}, other.api_key);
  await mine.until((evs) => callEvents(evs, later).some((e) => e.data.type === 'call.ended'));
  assert.equal(peek.events.length, 0);
  // Resuming with an id of the other tenant's history replays nothing of it.
  const resumed = await openStream(s.url, '/v1/stream', { key: other.api_key, lastEventId: boot.events[0]!.id! });
  t.after(() => resumed.close());
  await resumed.until((evs) => callEvents(evs, later).some((e) => e.data.type === 'call.ended'));
  assert.ok(resumed.events.every((e) => e.data.call_id !== bootCall));
  assert.ok(callEvents(resumed.events, otherCall).length > 0);
});

test('stream: a stalled reader does not slow deliveries; too far behind, it is dropped and resumes', async (t) => {
  const rx = await startReceiver();
  const s = await startHookline();
  t.after(async () => {
    await s.stop();
    await rx.close();
  });
  s.h.events.limits.readerBufferBytes = 256 * 1024;
  await createEndpoint(s.url, { url: `${rx.url}/all` });
  const slow = await openStream(s.url, '/v1/stream', { key: s.key });
  t.after(() => slow.close());
  // The reader takes the first event, then reads nothing more.
  const talking = await placeCall(s.url, { ring_ms: 0, talk_ms: 600_000 });
  await slow.until((evs) => evs.length > 0);
  slow.res.pause();
  const lastRead = slow.events.at(-1)!.id!;

  // Big transcript lines (over several calls: a call's answer carries its whole transcript) fill
  // the socket and then the reader's bound, while calls go on.
  const line = 'x'.repeat(90_000);
  const others = await Promise.all(Array.from({ length: 12 }, () => placeCall(s.url, { ring_ms: 0, talk_ms: 600_000 })));
  const short = placeCall(s.url, { ring_ms: 5, talk_ms: 5 });
  let posted = 0;
  await waitFor(async () => {
    const rs = await Promise.all(others.slice(0, 4).map((id) => request(s.url, 'POST', `/v1/calls/${id}/transcript`, { type: 'agent', message: line })));
    for (const r of rs) assert.equal(r.status, 201, JSON.stringify(r.body));
    others.push(...others.splice(0, 4));
    posted += rs.length;
    return s.h.events.dropped > 0;
  }, 60_000, 'the stalled reader to be dropped');
  const delivered = await waitFor(async () => {
    const id = await short;
    const ds = await deliveries(s.url, { call_id: id });
    return ds.length >= 4 && ds.every((d) => d.status === 'succeeded') ? ds : null;
  }, 10_000, 'the short call delivered while the reader is stalled');
  assert.ok(delivered.length >= 4);
  assert.ok(posted > 0);
  assert.equal(s.h.events.readers, 0);

  // Reading again, it finds the stream ended, and resumes after what it last read.
  slow.res.resume();
  await waitFor(() => slow.closed || null, 10_000, 'the dropped stream to end');
  const resumeFrom = slow.events.at(-1)?.id ?? lastRead;
  const back = await openStream(s.url, '/v1/stream', { key: s.key, lastEventId: resumeFrom });
  t.after(() => back.close());
  for (const id of [talking, ...others]) await request(s.url, 'POST', `/v1/calls/${id}/hangup`);
  await back.until((evs) => callEvents(evs, talking).some((e) => e.data.type === 'call.ended'), 10_000, 'the resumed stream to reach call.ended');
  const seqs = [...slow.events, ...back.events].filter((e) => e.event === 'call.event' && e.data.call_id === talking).map((e) => e.data.seq);
  const call = (await request(s.url, 'GET', `/v1/calls/${talking}`)).body;
  // nothing lost and nothing twice across the drop
  assert.deepEqual(seqs, call.events.map((e: { seq: number }) => e.seq));
});

test('stream: the OpenAPI document describes the stream and its token route', async (t) => {
  const s = await startHookline();
  t.after(() => s.stop());
  const doc = (await request(s.url, 'GET', '/openapi.json')).body;
  const get = doc.paths['/v1/stream'].get;
  assert.ok(get.responses['200'].content['text/event-stream']);
  assert.match(get.description, /Last-Event-ID/);
  assert.ok(get.parameters.some((p: { name: string; in: string }) => p.name === 'last-event-id' && p.in === 'header'));
  assert.ok(doc.paths['/v1/stream/tokens'].post.responses['201'].content['application/json'].schema.properties.token);
});

test('stream: an event that arrives before the one it follows (split mode: two threads publish) waits for it', async () => {
  const { EventBus } = await import('../src/events.ts');
  const bus = new EventBus();
  const { PassThrough } = await import('node:stream');
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  bus.attach(out as never, 'acct_1', undefined, undefined);
  const ev = (seq: number, type = 'leg.ringing') => ({ account_id: 'acct_1', call_id: 'call_1', event: 'call.event' as const, data: { call_id: 'call_1', seq, type } });
  bus.publish([ev(1, 'call.accepted')]);
  bus.publish([ev(3)]);
  bus.publish([ev(2), ev(4, 'call.ended')]);
  await waitFor(() => (text.match(/event: call\.event/g) ?? []).length === 4 || null, 5_000, 'four events');
  const seqs = [...text.matchAll(/"seq":(\d+)/g)].map((m) => Number(m[1]));
  assert.deepEqual(seqs, [1, 2, 3, 4]);
  // a gap that never fills holds the rest back only for a while
  bus.publish([ev(1, 'call.accepted')].map((e) => ({ ...e, call_id: 'call_2', data: { ...e.data, call_id: 'call_2' } })));
  bus.publish([{ ...ev(3), call_id: 'call_2', data: { call_id: 'call_2', seq: 3, type: 'call.ended' } }]);
  await waitFor(() => text.includes('"call_id":"call_2","seq":3') || null, 5_000, 'the held event after the wait');
  bus.close();
});

test('stream: with no reader an account keeps no history; one that comes back in time is replayed, later it gets a reset', async () => {
  const { EventBus } = await import('../src/events.ts');
  const { PassThrough } = await import('node:stream');
  let now = 1_000;
  const bus = new EventBus({ keepAfterReadersMs: 60_000 }, () => now);
  const reader = (lastEventId?: string) => {
    const out = new PassThrough();
    const r = { out, text: '' };
    out.on('data', (c: Buffer) => (r.text += c.toString()));
    bus.attach(out as never, 'acct_1', undefined, lastEventId);
    return r;
  };
  const result = (id: string) => ({ account_id: 'acct_1', call_id: 'call_1', event: 'delivery.result' as const, data: () => ({ delivery_id: id }) });
  const ids = (text: string) => [...text.matchAll(/^id: (\S+)$/gm)].map((m) => m[1]!);

  bus.publish([result('before-anyone')]);
  const first = reader();
  bus.publish([result('seen')]);
  await waitFor(() => first.text.includes('"seen"') || null, 5_000, 'the live item');
  const seenId = ids(first.text).at(-1)!;
  first.out.destroy();
  await waitFor(() => bus.readers === 0 || null, 5_000, 'the reader gone');

  now += 59_000; // within keepAfterReadersMs: kept for the reader's return
  bus.publish([result('while-away')]);
  const back = reader(seenId);
  await waitFor(() => back.text.includes('"while-away"') || null, 5_000, 'the replay');
  assert.ok(!back.text.includes('before-anyone'), 'nothing from before anyone watched');
  const awayId = ids(back.text).at(-1)!;
  back.out.destroy();
  await waitFor(() => bus.readers === 0 || null, 5_000, 'the reader gone again');

  now += 60_001; // past it: not kept, and the history says so
  bus.publish([result('unwatched')]);
  const late = reader(awayId);
  await waitFor(() => late.text.includes('event: reset') || null, 5_000, 'a reset, not a silent gap');
  assert.match(late.text, /too_far_behind/);
  assert.ok(!late.text.includes('"unwatched"'));
  bus.close();
});

test('stream: event ids count one account’s items only (a tenant does not learn another’s volume from them)', async () => {
  const { EventBus } = await import('../src/events.ts');
  const { PassThrough } = await import('node:stream');
  const bus = new EventBus();
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  bus.attach(out as never, 'acct_a', undefined, undefined);
  const result = (account: string, id: string) => ({ account_id: account, call_id: 'call_x', event: 'delivery.result' as const, data: () => ({ delivery_id: id }) });
  bus.publish([result('acct_a', 'a1')]);
  bus.publish(Array.from({ length: 50 }, (_, i) => result('acct_b', `b${i}`)));
  bus.publish([result('acct_a', 'a2')]);
  await waitFor(() => text.includes('"a2"') || null, 5_000, 'both of A’s items');
  const counters = [...text.matchAll(/^id: \w+\.(\d+)$/gm)].map((m) => Number(m[1]));
  assert.deepEqual(counters, [1, 2], 'A’s ids go 1, 2 whatever B published between them');
  bus.close();
});
