/**
 * The native format's body is `{type, timestamp, data: {event, call}}` exactly as JSON.stringify
 * writes that object (SPEC §5), for every event of a write, though the call's part is made once
 * per write (issue 10: a simulated call's step plans four events of one call state).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyEvents } from '../src/calls/state.ts';
import { callView, eventView } from '../src/calls/view.ts';
import { iso } from '../src/calls/model.ts';
import { standardFormat } from '../src/formats/standard.ts';
import type { Resource } from '../src/store/contract.ts';
import type { EndpointDoc } from '../src/targets/model.ts';
import { makeCall } from './store-harness.ts';

const doc: EndpointDoc = {
  url: 'https://receiver.example/hook', description: null, events: [], filters: {}, headers: { 'x-team': 'a' }, secrets: [],
  timeout_ms: 15_000, connect_timeout_ms: 5_000, concurrency: 8,
};
const resource = { id: 'ep_1', account_id: 'acct_1', kind: 'endpoint', doc, enabled: true } as unknown as Resource;

test('standard bodies equal JSON.stringify of the object, for each event of one write', () => {
  const call = makeCall('acct_1', { metadata: { note: 'quote " backslash \\ line\nbreak é 😀 \u2028' } });
  const events = applyEvents(call, [
    { type: 'leg.initiated', leg: 'main', data: {} },
    { type: 'leg.ringing', leg: 'main', data: {} },
    { type: 'call.transcript', leg: null, data: { speaker: 'customer', message: 'say "hi"\t</script>' } },
  ], 1_700_000_000_500);
  const targets = { index: standardFormat.index([resource]), byId: new Map([[resource.id, resource]]), memo: new Map<string, unknown>() };
  const bodies: string[] = [];
  for (const e of events) standardFormat.plan(call, e, targets, (_id, r) => bodies.push(r.request.body!));
  assert.equal(bodies.length, 3);
  const { events: _events, ...snapshot } = callView(call, []);
  events.forEach((e, i) => {
    const expected = JSON.stringify({ type: e.type, timestamp: iso(e.occurred_at), data: { event: { call_id: call.id, ...eventView(e) }, call: snapshot } });
    assert.equal(bodies[i], expected);
  });
  // A later write's call state is its own: a fresh memo renders the call as it is then.
  applyEvents(call, [{ type: 'leg.answered', leg: 'main', data: {} }], 1_700_000_001_000);
  const later: string[] = [];
  standardFormat.plan(call, events[0]!, { ...targets, memo: new Map() }, (_id, r) => later.push(r.request.body!));
  assert.equal((JSON.parse(later[0]!) as { data: { call: { status: string } } }).data.call.status, call.status);
  assert.notEqual(later[0], bodies[0]);
});
