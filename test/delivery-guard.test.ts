/**
 * Issue 3: the address guard (SPEC §6, principle 5). With private targets not allowed, an
 * endpoint URL at a private, loopback or link-local address is refused when saved, and a target
 * that reaches one anyway (stored by other means, or a name that resolves to one) is refused at
 * connect time: the delivery is dead at once and the receiver gets nothing. Redirects are not
 * followed, so a public target cannot bounce a delivery to a private one.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RESOURCE_KINDS, type EndpointDoc } from '../src/targets/model.ts';
import { startHookline, startReceiver, waitFor, type Receiver, type TestServer } from './helpers.ts';
import { answer, createEndpoint, deliveries, hooks, placeCall, waitEnded } from './delivery-helpers.ts';

let s: TestServer;
let rx: Receiver;
before(async () => {
  s = await startHookline({ allowPrivateTargets: false, retryScheduleMs: [20, 20] });
  rx = await startReceiver();
});
after(async () => {
  await rx.close();
  await s.stop();
});

const REFUSED = [
  'http://127.0.0.1/',
  'http://127.1.2.3:8080/hook',
  'http://10.0.0.1/',
  'http://172.16.5.4/',
  'http://192.168.1.1/',
  'http://100.64.0.1/',
  'http://169.254.169.254/latest/meta-data/',
  'http://0.0.0.0/',
  'http://[::1]/',
  'http://[::ffff:127.0.0.1]/',
  'http://[fd00::1]/',
  'http://[fe80::1]/',
  'http://localhost/',
  'http://LOCALHOST.:9000/',
  'http://api.localhost/',
  'http://2130706433/', // 127.0.0.1 spelled as one number
  'http://0x7f.1/', // and in hex
];

test('POST /v1/endpoints refuses private, loopback and link-local targets with 400 target_not_allowed', async () => {
  for (const url of REFUSED) {
    const r = await s.api('POST', '/v1/endpoints', { url });
    assert.equal(r.status, 400, `${url}: ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'target_not_allowed', url);
    assert.equal(r.body.field, 'url', url);
    assert.match(r.body.detail, /HOOKLINE_ALLOW_PRIVATE_TARGETS=true/, 'the answer says how the server allows them');
    assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  }
  assert.deepEqual((await s.api('GET', '/v1/endpoints')).body.data, [], 'nothing was saved');
});

test('PATCH cannot move an endpoint to a private address either', async () => {
  const ep = await createEndpoint(s, { url: 'https://hooks.example.com/in' });
  for (const url of ['http://127.0.0.1:1/', 'http://169.254.169.254/', 'http://localhost/']) {
    const r = await s.api('PATCH', `/v1/endpoints/${ep.id}`, { url });
    assert.equal(r.status, 400, `${url}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'target_not_allowed');
  }
  assert.equal((await s.api('GET', `/v1/endpoints/${ep.id}`)).body.url, 'https://hooks.example.com/in');
  assert.equal((await s.api('DELETE', `/v1/endpoints/${ep.id}`)).status, 204);
});

test('public names and addresses are accepted when saved (names are judged again at connect time)', async () => {
  for (const url of ['https://hooks.example.com/in', 'http://93.184.215.14:8080/x', 'http://[2606:4700::1111]/']) {
    const ep = await createEndpoint(s, { url });
    assert.equal(ep.url, url);
    assert.equal((await s.api('DELETE', `/v1/endpoints/${ep.id}`)).status, 204);
  }
});

/** Stores an endpoint directly, past the save-time check, as an older version or an import might. */
async function storeEndpoint(id: string, url: string): Promise<void> {
  const accountId = (await s.h.store.getBootstrapAccount())!;
  const now = Date.now();
  const doc: EndpointDoc = {
    url, description: 'stored past the API', events: [], filters: {}, headers: {},
    secrets: [{ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', created_at: now, expires_at: null }],
    timeout_ms: 2000, connect_timeout_ms: 1000, concurrency: 4,
  };
  await s.h.store.putResource({
    id, account_id: accountId, kind: RESOURCE_KINDS.endpoint, doc: doc as unknown as Record<string, unknown>,
    enabled: true, disabled_reason: null, created_at: now, updated_at: now, last_success_at: null, failing_since: null,
  });
  s.h.parts.registry.invalidate(accountId);
}

test('at connect time a loopback target is refused: the delivery is dead at once and the receiver gets nothing', async () => {
  // One endpoint at the literal address, one at a name that resolves to it: the connector judges
  // the first before connecting and the second by the address its lookup answers.
  await storeEndpoint('ep_guard_literal', `${rx.url}/literal`);
  await storeEndpoint('ep_guard_name', `http://localhost:${rx.port}/name`);
  try {
    const callId = await placeCall(s);
    await waitEnded(s, callId);
    for (const target of ['ep_guard_literal', 'ep_guard_name']) {
      const ds = await waitFor(async () => {
        const got = await deliveries(s, { call_id: callId, target_id: target });
        return got.length === 5 && got.every((d) => d.status === 'dead') ? got : null;
      }, 10_000, `every delivery to ${target} to be dead`);
      for (const d of ds) {
        // A refusal is permanent: one attempt, not the whole schedule.
        assert.equal(d.attempts.length, 1, `${target} ${d.event_type}: ${JSON.stringify(d.attempts)}`);
        assert.equal(d.attempts[0].status_code, null);
        assert.match(d.attempts[0].error, /refused/);
        assert.match(d.attempts[0].error, /loopback/, 'the error says why: not a plain ECONNREFUSED');
        if (target === 'ep_guard_name') {
          assert.match(d.attempts[0].error, /localhost .*resolves to/, 'judged by the resolved address');
          assert.doesNotMatch(d.attempts[0].error, /127\.0\.0\.1|::1/, 'which address is not the tenant’s to learn');
        }
      }
    }
    assert.equal(rx.requests.length, 0, 'the receiver got nothing');
  } finally {
    await s.api('DELETE', '/v1/endpoints/ep_guard_literal');
    await s.api('DELETE', '/v1/endpoints/ep_guard_name');
  }
});

test('redirects are not followed: a 3xx is an answer, not an instruction', async () => {
  const srv = await startHookline({ retryScheduleMs: [20] }); // private targets allowed, to reach the receivers
  const inner = await startReceiver();
  const outer = await startReceiver();
  outer.respond((_r, res) => answer(res, 307, { location: `${inner.url}/internal` }));
  try {
    const ep = await createEndpoint(srv, { url: `${outer.url}/redirect`, events: ['call.accepted'] });
    const callId = await placeCall(srv);
    const [d] = await waitFor(async () => {
      const got = await deliveries(srv, { call_id: callId, target_id: ep.id });
      return got.length === 1 && got[0].status === 'dead' ? got : null;
    }, 10_000, 'the redirected delivery to be dead');
    assert.deepEqual(d.attempts.map((a: any) => a.status_code), [307, 307]);
    assert.equal(d.attempts[0].response_headers.location, `${inner.url}/internal`);
    assert.equal(hooks(outer.requests).length, 2);
    assert.equal(inner.requests.length, 0, 'the redirect target got nothing');
  } finally {
    await inner.close();
    await outer.close();
    await srv.stop();
  }
});
