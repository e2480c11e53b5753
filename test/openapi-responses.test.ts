/**
 * Issue 12: every route's answers are described in /openapi.json (the console's client is typed
 * from it), and real answers match what the document says: required fields present, types and
 * nulls as documented.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { placeCall, waitEnded } from './delivery-helpers.ts';
import { request, startHookline, startReceiver, waitFor, type ApiResponse } from './helpers.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

interface Op { responses: Record<string, { content?: Record<string, { schema: object }> }> }

test('every route in /openapi.json describes its answers and its problems', async (t) => {
  const s = await startHookline();
  t.after(() => s.stop());
  const doc = (await s.api('GET', '/openapi.json')).body as { paths: Record<string, Record<string, Op>> };
  let ops = 0;
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      ops++;
      const what = `${method.toUpperCase()} ${path}`;
      const ok = Object.keys(op.responses).filter((c) => /^2\d\d$/.test(c));
      assert.ok(ok.length > 0, `${what} has no success answer`);
      for (const c of ok) {
        if (c === '204') continue;
        const content = op.responses[c]!.content ?? {};
        assert.ok(content['application/json'] || content['text/event-stream'], `${what} ${c} has no schema`);
      }
      for (const c of ['4XX', '5XX']) {
        const schema = op.responses[c]?.content?.['application/json']?.schema as { properties?: Record<string, unknown>; required?: string[] } | undefined;
        assert.ok(schema?.properties?.code, `${what} documents no ${c} problem`);
        assert.ok(schema.required?.includes('code'));
      }
    }
  }
  assert.ok(ops >= 50, `only ${ops} operations`);
});

test('real answers match the documented schemas', async (t) => {
  const rx = await startReceiver();
  const s = await startHookline();
  t.after(async () => {
    await s.stop();
    await rx.close();
  });
  const doc = (await s.api('GET', '/openapi.json')).body as { paths: Record<string, Record<string, Op>> };
  const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
  const compiled = new Map<string, ValidateFunction>();
  let checked = 0;
  const check = (method: string, path: string, r: ApiResponse, status: number): any => {
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    const key = `${method} ${path} ${status}`;
    let v = compiled.get(key);
    if (!v) {
      const responses = doc.paths[path]?.[method.toLowerCase()]?.responses ?? {};
      const schema = (responses[String(status)] ?? responses[`${String(status)[0]}XX`])?.content?.['application/json']?.schema;
      assert.ok(schema, `${key} is not documented`);
      v = ajv.compile(schema);
      compiled.set(key, v);
    }
    assert.ok(v(r.body), `${key} answered what its schema refuses: ${ajv.errorsText(v.errors)}\n${JSON.stringify(r.body).slice(0, 2000)}`);
    checked++;
    return r.body;
  };
  const api = (method: string, path: string, url: string, status: number, body?: unknown) =>
    s.api(method, url, body).then((r) => check(method, path, r, status));

  const ep = await api('POST', '/v1/endpoints', '/v1/endpoints', 201, { url: `${rx.url}/ep`, description: null });
  await api('GET', '/v1/endpoints/{id}', `/v1/endpoints/${ep.id}`, 200);
  await api('PATCH', '/v1/endpoints/{id}', `/v1/endpoints/${ep.id}`, 200, { enabled: true });
  await api('GET', '/v1/endpoints', '/v1/endpoints', 200);
  await api('GET', '/v1/endpoints/{id}/secret', `/v1/endpoints/${ep.id}/secret`, 200);
  await api('POST', '/v1/endpoints/{id}/secret/rotate', `/v1/endpoints/${ep.id}/secret/rotate`, 200, {});
  await api('POST', '/v1/endpoints/{id}/test', `/v1/endpoints/${ep.id}/test`, 200, {});
  const prof = await api('POST', '/v1/callback-profiles', '/v1/callback-profiles', 201, { name: 'p', url: `${rx.url}/p` });
  await api('GET', '/v1/callback-profiles/{id}', `/v1/callback-profiles/${prof.id}`, 200);
  const wh = await api('POST', '/v1/webhooks', '/v1/webhooks', 201, { url: `${rx.url}/w` });
  await api('GET', '/v1/webhooks', '/v1/webhooks', 200);
  const sub = await api('POST', '/v1/subscriptions', '/v1/subscriptions', 201, { service: 'channels', event: 'voice.outbound', url: `${rx.url}/s`, signingKey: 'k' });
  await api('GET', '/v1/subscriptions/{id}', `/v1/subscriptions/${sub.id}`, 200);
  const prop = await api('POST', '/v1/properties', '/v1/properties', 201, { name: 'site' });
  await api('GET', '/v1/properties/{id}', `/v1/properties/${prop.sid}`, 200);
  const tw = await api('POST', '/v1/call-tracking/webhooks', '/v1/call-tracking/webhooks', 201, { url: `${rx.url}/t`, property_sid: prop.sid });
  await api('GET', '/v1/call-tracking/webhooks/{id}', `/v1/call-tracking/webhooks/${tw.id}`, 200);
  await api('GET', '/v1/integrations/custom-webhook', '/v1/integrations/custom-webhook', 200);
  await api('PUT', '/v1/integrations/custom-webhook', '/v1/integrations/custom-webhook', 200, { enabled: true, url: `${rx.url}/c` });
  await api('POST', '/v1/integrations/custom-webhook/test', '/v1/integrations/custom-webhook/test', 200, {});
  await api('POST', '/v1/test-deliveries', '/v1/test-deliveries', 200, { format: 'standard', url: `${rx.url}/u` });

  const id = await placeCall(s.url, { ring_ms: 5, talk_ms: 5, transcript: [{ type: 'agent', message: 'hi' }] }, { webhook_id: wh.id });
  await waitEnded(s.url, id);
  await api('GET', '/v1/calls/{id}', `/v1/calls/${id}`, 200);
  await api('GET', '/v1/calls', '/v1/calls', 200);
  await api('POST', '/v1/click-to-call', '/v1/click-to-call', 201, { from: '+1555', to: '+1556', simulate: { from: { ring_ms: 5, talk_ms: 5 } } });
  await api('POST', '/v1/inbound-calls', '/v1/inbound-calls', 201, { from: '+1555', to: '+1556', tracking: { property_sid: prop.sid } });
  const live = await api('POST', '/v1/calls', '/v1/calls', 201, { from: '+1555', to: '+1556', simulate: { ring_ms: 0, talk_ms: 600_000 } });
  await api('POST', '/v1/calls/{id}/transcript', `/v1/calls/${live.id}/transcript`, 201, { type: 'agent', message: 'hello' });
  await api('POST', '/v1/calls/{id}/hangup', `/v1/calls/${live.id}/hangup`, 200);
  await api('POST', '/v1/call-events', '/v1/call-events', 201, { event_id: 'e1', call_id: 'sw1', type: 'leg.initiated', from: '+1', to: '+2', direction: 'inbound' });
  await api('POST', '/v1/call-events', '/v1/call-events', 200, { events: [{ event_id: 'e2', call_id: 'sw1', type: 'call.ended', outcome: 'completed' }, { event_id: 'e3' }] });

  const ds = await waitFor(async () => {
    const list = await api('GET', '/v1/deliveries', `/v1/deliveries?call_id=${id}`, 200);
    return list.data.length > 0 && list.data.every((d: { status: string }) => d.status === 'succeeded') ? list.data : null;
  }, 10_000, 'deliveries');
  await api('GET', '/v1/deliveries/{id}', `/v1/deliveries/${ds[0].id}`, 200);
  await api('POST', '/v1/deliveries/{id}/retry', `/v1/deliveries/${ds[0].id}/retry`, 202);
  await api('POST', '/v1/accounts', '/v1/accounts', 201, { name: 'x' });
  await api('POST', '/v1/stream/tokens', '/v1/stream/tokens', 201);
  // problems, too
  check('GET', '/v1/calls/{id}', await request(s.url, 'GET', '/v1/calls/call_nope'), 404);
  check('POST', '/v1/endpoints', await request(s.url, 'POST', '/v1/endpoints', { url: 5 }), 400);
  assert.equal((await s.api('DELETE', `/v1/webhooks/${wh.id}`)).status, 204);
  assert.ok(checked >= 35, `${checked} answers checked`);
});
