/**
 * Issue 2: the engine's pending transitions are durable (SPEC §3, principle 1). The real CLI is
 * killed with SIGKILL while calls are mid-scenario; a new process on the same data directory
 * finishes every call with exactly one call.ended and a gap-free seq, losing nothing accepted.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { request, tempDir, waitFor, type ApiResponse } from './helpers.ts';
import { spawnHookline, stopChild, type Child } from './cli-child.ts';
import { assertEndedTimeline, getCall, timeline, waitEnded, type CallView } from './call-helpers.ts';

const KEY = 'hk_restart_test_key_0123456789abcdef';

const spawnAt = (dataDir: string) => spawnHookline(['--data-dir', dataDir, '--api-key', KEY]);
const kill = stopChild;

interface Planned {
  route: string;
  body: Record<string, unknown>;
  outcome: string;
  /** the expected timeline once ended */
  timeline: string[];
  id?: string;
}

const ONE = ['leg.initiated/main', 'leg.ringing/main'];
const C2C_FROM = ['leg.initiated/from', 'leg.ringing/from', 'leg.answered/from'];
const C2C_TO = ['leg.initiated/to', 'leg.ringing/to'];

function plan(): Planned[] {
  const lines = [{ type: 'agent', message: 'one' }, { type: 'customer', message: 'two' }];
  const p: Planned[] = [];
  // Ring and talk times of a few hundred ms, staggered so the kill lands in every phase.
  for (let i = 0; i < 3; i++) {
    const ring = 150 + i * 200;
    p.push(
      {
        route: '/v1/calls', body: { from: '+15550300001', to: `+1555031000${i}`, simulate: { ring_ms: ring, talk_ms: 500, transcript: lines } },
        outcome: 'completed', timeline: ['call.accepted', ...ONE, 'leg.answered/main', 'call.transcript', 'call.transcript', 'call.ended'],
      },
      {
        route: '/v1/calls', body: { from: '+15550300002', to: `+1555032000${i}`, simulate: { ring_ms: ring + 100, outcome: 'busy' } },
        outcome: 'busy', timeline: ['call.accepted', ...ONE, 'call.ended'],
      },
      {
        route: '/v1/calls', body: { from: '+15550300003', to: `+1555033000${i}`, simulate: { ring_ms: ring + 150, outcome: 'failed' } },
        outcome: 'failed', timeline: ['call.accepted', ...ONE, 'call.error', 'call.ended'],
      },
      {
        route: '/v1/inbound-calls', body: { from: `+1555034000${i}`, to: '+15550300004', simulate: { ring_ms: ring + 50, outcome: 'no-answer' } },
        outcome: 'no-answer', timeline: [...ONE, 'call.ended'],
      },
      {
        route: '/v1/click-to-call', body: { from: '+15550300005', to: `+1555035000${i}`, simulate: { from: { ring_ms: ring }, to: { ring_ms: 300, talk_ms: 400 } } },
        outcome: 'completed', timeline: ['call.accepted', ...C2C_FROM, ...C2C_TO, 'leg.answered/to', 'call.ended'],
      },
      {
        route: '/v1/click-to-call', body: { from: '+15550300006', to: `+1555036000${i}`, simulate: { from: { ring_ms: ring }, to: { ring_ms: 300, outcome: 'busy' } } },
        outcome: 'busy', timeline: ['call.accepted', ...C2C_FROM, ...C2C_TO, 'call.ended'],
      },
    );
  }
  return p;
}

function isPrefix(prefix: string[], of: string[]): boolean {
  return prefix.length <= of.length && prefix.every((x, i) => x === of[i]);
}

test('SIGKILL mid-scenario: a new process on the same data dir finishes every call once', { timeout: 120_000 }, async () => {
  const tmp = tempDir('hookline-restart-');
  let first: Child | undefined;
  let second: Child | undefined;
  try {
    first = await spawnAt(tmp.dir);
    const calls = plan();
    for (const c of calls) {
      const r: ApiResponse = await request(first.url, 'POST', c.route, c.body, { key: KEY });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      c.id = r.body.id;
    }

    // Kill once the scenarios are under way: one call talking, none of the later ones ended.
    await waitFor(async () => (await getCall(first!.url, calls[0]!.id!, KEY)).events.some((e) => e.type === 'leg.answered'), 10_000, 'the first call to answer');
    // A call accepted just before the kill must survive it.
    const last = await request(first.url, 'POST', '/v1/calls', { from: '+15550399999', to: '+15550399998', simulate: { ring_ms: 200, talk_ms: 200 } }, { key: KEY });
    assert.equal(last.status, 201);
    calls.push({ route: '/v1/calls', body: {}, outcome: 'completed', timeline: ['call.accepted', ...ONE, 'leg.answered/main', 'call.ended'], id: last.body.id });
    const snapshot = new Map<string, CallView>();
    for (const c of calls) snapshot.set(c.id!, await getCall(first.url, c.id!, KEY));
    await kill(first, 'SIGKILL');
    assert.equal(first.proc.signalCode, 'SIGKILL');

    const unfinished = [...snapshot.values()].filter((c) => c.status !== 'ended');
    assert.ok(unfinished.length >= 3, `the kill came too late to test anything: ${unfinished.length} calls still live`);

    second = await spawnAt(tmp.dir);
    // A timer the killed process had claimed stays leased until its lease (30 s) expires.
    for (const c of calls) {
      const call: CallView = await waitEnded(second.url, c.id!, { key: KEY, timeoutMs: 60_000 }).catch(async (err: unknown) => {
        const now = await getCall(second!.url, c.id!, KEY);
        throw new Error(`${String(err)}\ncall: ${JSON.stringify(now)}\nbefore the kill: ${JSON.stringify(snapshot.get(c.id!))}\nsecond process:\n${second!.output.join('\n')}`);
      });
      assertEndedTimeline(call);
      assert.equal(call.outcome, c.outcome, `call ${c.id}: ${timeline(call).join(', ')}`);
      assert.deepEqual(timeline(call), c.timeline, `call ${c.id}`);
      // Nothing the first process had recorded is lost or rewritten.
      const before = snapshot.get(c.id!)!;
      assert.ok(isPrefix(before.events.map((e) => JSON.stringify(e)), call.events.map((e) => JSON.stringify(e))), `call ${c.id}: the timeline before the kill is not a prefix of the one after`);
      if (call.kind === 'click_to_call') {
        assert.deepEqual(call.legs.map((l) => l.name), ['from', 'to']);
        assert.equal(call.legs.find((l) => l.name === 'to')!.outcome, c.outcome);
      } else {
        assert.equal(call.legs.length, 1);
        assert.equal(call.legs[0]!.outcome, c.outcome);
      }
      if (c.outcome === 'completed' && call.kind === 'outbound' && c.body.simulate) {
        assert.deepEqual(call.transcript.map((t) => t.message), ['one', 'two']);
      }
    }
    // Nothing else appeared: the restarted process lists exactly the calls made.
    const list = await request(second.url, 'GET', '/v1/calls?limit=100', undefined, { key: KEY });
    assert.deepEqual(list.body.data.map((c: CallView) => c.id).sort(), calls.map((c) => c.id).sort());

    // The restarted process is a working server.
    const fresh = await request(second.url, 'POST', '/v1/calls', { from: '+1555', to: '+1666', simulate: { ring_ms: 10, talk_ms: 10 } }, { key: KEY });
    assert.equal(fresh.status, 201);
    assertEndedTimeline(await waitEnded(second.url, fresh.body.id, { key: KEY }));

    // A clean stop on SIGTERM exits 0.
    const exited = once(second.proc, 'exit');
    second.proc.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0, second.output.join('\n'));
  } finally {
    await kill(first);
    await kill(second);
    tmp.remove();
  }
});
