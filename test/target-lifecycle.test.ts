/**
 * Issue 11, Done-when 1: one lifecycle for every target kind. For each kind: disabled by a 410,
 * the reason in its view; a call naming it gets its delivery rows, dead with the reason, and
 * nothing is sent; `PATCH {"enabled": true}` re-enables it and a manual retry delivers;
 * `PATCH {"enabled": false}` records that the user disabled it, with the same dead rows.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startHookline, startReceiver, waitFor, type Receiver, type TestServer } from './helpers.ts';
import { newTenant, received, settle, type Tenant } from './account-format-helpers.ts';

const FAST = { ring_ms: 10, talk_ms: 20 };

let s: TestServer;
let rx: Receiver;
/** paths the receiver answers 410 Gone on */
const gone = new Set<string>();
before(async () => {
  s = await startHookline({ retryScheduleMs: [20, 20] });
  rx = await startReceiver();
  rx.respond((r, res) => {
    const status = gone.has(new URL(r.url, 'http://x').pathname) ? 410 : 200;
    res.writeHead(status, { 'content-type': 'text/plain' }).end(String(status));
  });
});
after(async () => {
  await s.stop();
  await rx.close();
});

interface Kind {
  name: string;
  /** makes the target, sending to `url`; answers its id and the path it is read and patched at */
  create(t: Tenant, url: string): Promise<{ id: string; path: string }>;
  /** places a call that names (or matches) the target */
  call(t: Tenant, id: string): Promise<string>;
}

async function created(t: Tenant, method: string, path: string, body: unknown): Promise<any> {
  const r = await t.api(method, path, body);
  assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
  return r.body;
}

async function outbound(t: Tenant, extra: Record<string, unknown> = {}): Promise<string> {
  return (await created(t, 'POST', '/v1/calls', { from: '+15550100', to: '+15550199', simulate: FAST, ...extra })).id;
}

const KINDS: Kind[] = [
  {
    name: 'endpoint',
    create: async (t, url) => {
      const id = (await created(t, 'POST', '/v1/endpoints', { url, events: ['call.ended'] })).id;
      return { id, path: `/v1/endpoints/${id}` };
    },
    call: (t) => outbound(t),
  },
  {
    name: 'callback profile',
    create: async (t, url) => {
      const id = (await created(t, 'POST', '/v1/callback-profiles', { name: 'p', url })).id;
      return { id, path: `/v1/callback-profiles/${id}` };
    },
    call: (t, id) => outbound(t, { callback: { call_end: { callback_profile: [id], url: [] } } }),
  },
  {
    name: 'push-report webhook',
    create: async (t, url) => {
      const id = (await created(t, 'POST', '/v1/webhooks', { url })).id;
      return { id, path: `/v1/webhooks/${id}` };
    },
    call: (t, id) => outbound(t, { webhook_id: id }),
  },
  {
    name: 'channels subscription',
    create: async (t, url) => {
      const body = { service: 'channels', event: 'voice.outbound', url, eventFilters: [{ key: 'status', value: 'completed' }] };
      const id = (await created(t, 'POST', '/v1/subscriptions', body)).id;
      return { id, path: `/v1/subscriptions/${id}` };
    },
    call: (t) => outbound(t),
  },
  {
    name: 'call-tracking webhook',
    create: async (t, url) => {
      const sid = (await created(t, 'POST', '/v1/properties', { name: 'example.com' })).sid;
      const id = (await created(t, 'POST', '/v1/call-tracking/webhooks', { url, property_sid: sid, events: ['Call.Complete'] })).id;
      return { id, path: `/v1/call-tracking/webhooks/${id}` };
    },
    call: async (t, id) => {
      const sid = (await t.api('GET', `/v1/call-tracking/webhooks/${id}`)).body.property_sid;
      return (await created(t, 'POST', '/v1/inbound-calls', { from: '+15550100', to: '+15550199', tracking: { property_sid: sid }, simulate: FAST })).id;
    },
  },
  {
    name: 'custom integration',
    create: async (t, url) => {
      await created(t, 'PUT', '/v1/integrations/custom-webhook', { enabled: true, url, events: ['call_ended'] });
      return { id: `cwh_${t.id}`, path: '/v1/integrations/custom-webhook' };
    },
    call: (t) => outbound(t),
  },
];

/** The call's deliveries to the target, once all of them are finished. */
async function toTarget(t: Tenant, callId: string, targetId: string) {
  const ds = (await settle(t, callId)).deliveries.filter((d) => d.target.id === targetId);
  assert.ok(ds.length > 0, `call ${callId} has a delivery row for ${targetId}`);
  return ds;
}

async function patch(t: Tenant, path: string, enabled: boolean): Promise<any> {
  const r = await t.api('PATCH', path, { enabled });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.enabled, enabled);
  return r.body;
}

async function retryDelivers(t: Tenant, deliveryId: string, path: string): Promise<void> {
  const before = received(rx, path).length;
  const r = await t.api('POST', `/v1/deliveries/${deliveryId}/retry`);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  await waitFor(async () => (await t.api('GET', `/v1/deliveries/${deliveryId}`)).body.status === 'succeeded', 10_000, `retry of ${deliveryId}`);
  assert.equal(received(rx, path).length, before + 1);
}

for (const kind of KINDS) {
  test(`${kind.name}: disabled by a 410 and by PATCH, dead rows with the reason, re-enabled by PATCH, retried from the log`, async () => {
    const t = await newTenant(s);
    const path = `/lifecycle/${kind.name.replaceAll(' ', '-')}`;
    gone.add(path);
    const { id, path: at } = await kind.create(t, rx.url + path);
    const shown = (await t.api('GET', at)).body;
    assert.equal(shown.enabled, true);
    assert.equal(shown.disabled_reason, null);

    // A 410 disables the target; the view says why.
    const first = await toTarget(t, await kind.call(t, id), id);
    assert.equal(first[0]!.last_status_code, 410);
    const off = (await t.api('GET', at)).body;
    assert.equal(off.enabled, false);
    assert.equal(off.disabled_reason, 'the target answered 410 Gone');

    // A call naming it still gets its rows: dead, with the reason, nothing sent.
    const sent = received(rx, path).length;
    const dead = await toTarget(t, await kind.call(t, id), id);
    for (const d of dead) {
      assert.equal(d.status, 'dead');
      assert.equal(d.last_error, 'target disabled: the target answered 410 Gone');
    }
    assert.equal(received(rx, path).length, sent);

    // Fixed and re-enabled: the missed delivery is retried from the log and delivered.
    gone.delete(path);
    const on = await patch(t, at, true);
    assert.equal(on.disabled_reason, null);
    await retryDelivers(t, dead[0]!.id, path);

    // Disabled by the user: recorded as such, and the same dead rows.
    const userOff = await patch(t, at, false);
    assert.equal(userOff.disabled_reason, 'disabled by the user');
    const byUser = await toTarget(t, await kind.call(t, id), id);
    for (const d of byUser) assert.equal(d.last_error, 'target disabled: disabled by the user');
    await patch(t, at, true);
    await retryDelivers(t, byUser[0]!.id, path);
  });
}
