import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hashKey } from '../src/api/auth.ts';
import { startHookline, type TestServer } from './helpers.ts';

let s: TestServer;
before(async () => {
  s = await startHookline();
});
after(() => s.stop());

test('a switch leg first reported as answered is initiated first, so start events still go out', async () => {
  const first = await s.api('POST', '/v1/call-events', {
    event_id: 'sw-legs-1', call_id: 'sw-call-legs', type: 'leg.answered', leg: 'a', from: '+15550001', to: '+15550002', direction: 'inbound',
  });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.deepEqual(first.body.events.map((e: any) => [e.type, e.leg]), [['leg.initiated', 'a'], ['leg.answered', 'a']]);
  const ringing = await s.api('POST', '/v1/call-events', { event_id: 'sw-legs-2', call_id: 'sw-call-legs', type: 'leg.ringing', leg: 'b' });
  assert.equal(ringing.status, 200);
  assert.deepEqual(ringing.body.events.slice(2).map((e: any) => [e.type, e.leg]), [['leg.initiated', 'b'], ['leg.ringing', 'b']]);
});

test('a leg a later event adds is the number that event names (`to`), else the number called; the first leg and the call keep the first event\'s', async () => {
  const call = 'sw-call-agents';
  const first = await s.api('POST', '/v1/call-events', {
    event_id: 'sw-agents-1', call_id: call, type: 'leg.initiated', leg: 'caller', from: '+442071234569', to: '+442070000000', direction: 'inbound',
  });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  const agent = await s.api('POST', '/v1/call-events', { event_id: 'sw-agents-2', call_id: call, type: 'leg.ringing', leg: 'agent1', to: '+442079990001' });
  assert.equal(agent.status, 200, JSON.stringify(agent.body));
  const plain = await s.api('POST', '/v1/call-events', { event_id: 'sw-agents-3', call_id: call, type: 'leg.initiated', leg: 'agent2' });
  assert.equal(plain.status, 200, JSON.stringify(plain.body));
  const c = (await s.api('GET', `/v1/calls/${first.body.id}`)).body;
  assert.deepEqual(c.legs.map((l: { name: string; number: string }) => [l.name, l.number]),
    [['caller', '+442071234569'], ['agent1', '+442079990001'], ['agent2', '+442070000000']]);
  assert.deepEqual([c.from, c.to], ['+442071234569', '+442070000000']);
});

test('headers shown as [redacted] and sent back keep their stored values', async () => {
  const created = await s.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/r', headers: { Authorization: 'Bearer real-token', 'X-Plain': 'one' } });
  assert.equal(created.body.headers.Authorization, '[redacted]');
  const patched = await s.api('PATCH', `/v1/webhooks/${created.body.id}`, { headers: { ...created.body.headers, 'X-Plain': 'two' } });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  const account = (await s.h.store.findApiKey(hashKey(s.key)))!.account_id;
  const stored = await s.h.store.getResource(account, 'webhook', created.body.id);
  assert.deepEqual((stored!.doc as any).headers, { Authorization: 'Bearer real-token', 'X-Plain': 'two' });
});
