/**
 * Issue 9: bad input stops at the door, on both backends. The same requests run against SQLite
 * and PostgreSQL: a NUL or an unpaired surrogate anywhere (path, query, JSON body) is a 4xx that
 * names the field, never a 500, and writes nothing; target headers that undici could never send
 * are refused when saved; a cursor that is not an id of the list is 400 `invalid_cursor`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { API_BACKENDS, type Started } from './api-backends.ts';
import { assertProblem } from './call-helpers.ts';
import { startReceiver, type Receiver } from './helpers.ts';

const NUL = '\u0000';
const LONE = '\ud800';
// In a URL a lone surrogate can only be written as its (invalid) UTF-8 bytes.
const URL_BAD = { nul: '%00', lone: '%ED%A0%80' } as const;

type Json = Record<string, unknown>;

for (const backend of API_BACKENDS) {
  describe(`input rules on ${backend.name}`, { skip: backend.skip }, () => {
    let st: Started;
    let rx: Receiver;
    /** one of each kind, so PATCH routes and cursors have something real */
    const ids: Record<string, string> = {};
    const api = (method: string, path: string, body?: unknown) => st.s.api(method, path, body);
    const created = async (path: string, body: Json, method = 'POST'): Promise<Json> => {
      const r = await api(method, path, body);
      assert.ok(r.status === 201 || r.status === 200, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    /** runs `fn` and asserts the store did not change meanwhile */
    const writesNothing = async (fn: () => Promise<void>) => {
      const before = await st.snapshot();
      await fn();
      assert.deepEqual(await st.snapshot(), before, 'a refused request wrote to the store');
    };

    before(async () => {
      st = await backend.start();
      rx = await startReceiver();
      const url = `${rx.url}/hook`;
      ids.call = (await created('/v1/calls', { from: '+15550900001', to: '+15550900002' })).id as string;
      ids.endpoint = (await created('/v1/endpoints', { url, headers: { authorization: 'Bearer one' } })).id as string;
      ids.profile = (await created('/v1/callback-profiles', { name: 'p', url })).id as string;
      ids.webhook = (await created('/v1/webhooks', { url })).id as string;
      ids.subscription = (await created('/v1/subscriptions', { service: 'channels', event: 'voice.inbound', url })).id as string;
      ids.property = (await created('/v1/properties', { name: 'site' })).sid as string;
      ids.trackingWebhook = (await created('/v1/call-tracking/webhooks', { url })).id as string;
      await created('/v1/integrations/custom-webhook', { enabled: true, url }, 'PUT');
    });
    after(async () => {
      await st?.stop();
      await rx?.close();
    });

    test('an id with NUL in the path is 404 on every {id} route; invalid UTF-8 there is 400', async () => {
      const doc = (await api('GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
      const routes = Object.entries(doc.paths).filter(([p]) => p.includes('{id}'))
        .flatMap(([p, ops]) => Object.keys(ops).map((m) => [m.toUpperCase(), p] as const));
      assert.ok(routes.length >= 25, `only ${routes.length} {id} routes in /openapi.json`);
      await writesNothing(async () => {
        for (const [method, p] of routes) {
          const body = method === 'GET' || method === 'DELETE' ? undefined : {};
          for (const id of [URL_BAD.nul, `call_${URL_BAD.nul}x`, `${ids.endpoint}${URL_BAD.nul}`]) {
            assertProblem(await api(method, p.replace('{id}', id), body), 404, 'not_found');
          }
          assertProblem(await api(method, p.replace('{id}', `a${URL_BAD.lone}`), body), 400, 'invalid_field', 'url');
        }
      });
    });

    test('list filters with NUL, a lone surrogate or bad percent-encoding are 400 naming the filter', async () => {
      const cases = [
        ...['external_id', 'from', 'to', 'channel_id', 'status', 'cursor'].map((q) => ['/v1/calls', q] as const),
        ...['call_id', 'target_id', 'cursor'].map((q) => ['/v1/deliveries', q] as const),
        ...['/v1/endpoints', '/v1/webhooks', '/v1/callback-profiles', '/v1/subscriptions', '/v1/properties', '/v1/call-tracking/webhooks'].map((p) => [p, 'cursor'] as const),
      ];
      await writesNothing(async () => {
        for (const [p, q] of cases) {
          for (const v of [URL_BAD.nul, `a${URL_BAD.nul}`, URL_BAD.lone, `x${URL_BAD.lone}y`, '%FF', '100%']) {
            assertProblem(await api('GET', `${p}?${q}=${v}`), 400, 'invalid_field', `query.${q}`);
          }
        }
        // a query parameter no route reads is checked all the same
        assertProblem(await api('GET', `/v1/calls/${ids.call}?x=${URL_BAD.nul}`), 400, 'invalid_field', 'query.x');
      });
    });

    test('NUL and lone surrogates anywhere in a JSON body are 400 naming the field', async () => {
      const P = { from: '+15550900011', to: '+15550900012' };
      const cases: [string, string, (bad: string) => Json, string][] = [
        ['POST', '/v1/calls', (b) => ({ ...P, from: `+1555${b}` }), 'from'],
        ['POST', '/v1/calls', (b) => ({ ...P, metadata: { deep: { list: [1, `a${b}`] } } }), 'metadata.deep.list[1]'],
        ['POST', '/v1/calls', (b) => ({ ...P, metadata: { [`k${b}`]: 1 } }), 'metadata'],
        ['POST', '/v1/calls', (b) => ({ ...P, [b]: 1 }), 'body'],
        ['POST', '/v1/click-to-call', (b) => ({ ...P, simulate: { to: { transcript: [{ type: 'agent', message: b }] } } }), 'simulate.to.transcript[0].message'],
        ['POST', '/v1/inbound-calls', (b) => ({ ...P, tracking: { property_sid: ids.property!, caller: { city: b } } }), 'tracking.caller.city'],
        ['POST', '/v1/call-events', (b) => ({ event_id: `e${b}`, call_id: 'sw-1', type: 'call.accepted', ...P, direction: 'outbound' }), 'event_id'],
        ['POST', '/v1/call-events', (b) => ({ event_id: 'e-1', call_id: `sw${b}`, type: 'call.accepted', ...P, direction: 'outbound' }), 'call_id'],
        ['POST', '/v1/accounts', (b) => ({ name: `acme${b}` }), 'name'],
        ['POST', `/v1/calls/${ids.call}/transcript`, (b) => ({ type: 'agent', message: `hi${b}` }), 'message'],
        ['POST', '/v1/endpoints', (b) => ({ url: `${rx.url}/x`, description: b }), 'description'],
        ['PATCH', `/v1/endpoints/${ids.endpoint}`, (b) => ({ filters: { channel_id: [`c${b}`] } }), 'filters.channel_id[0]'],
        ['PATCH', `/v1/webhooks/${ids.webhook}`, (b) => ({ body: `{"id": "{{id}}${b}"}` }), 'body'],
        ['PATCH', `/v1/callback-profiles/${ids.profile}`, (b) => ({ name: b }), 'name'],
        ['PATCH', `/v1/subscriptions/${ids.subscription}`, (b) => ({ signingKey: `k${b}` }), 'signingKey'],
        ['PATCH', `/v1/properties/${ids.property}`, (b) => ({ name: b }), 'name'],
        ['PATCH', `/v1/call-tracking/webhooks/${ids.trackingWebhook}`, (b) => ({ property_sid: b }), 'property_sid'],
        ['PUT', '/v1/integrations/custom-webhook', (b) => ({ enabled: true, url: `${rx.url}/${b}` }), 'url'],
        ['POST', '/v1/integrations/custom-webhook/test', (b) => ({ event_type: b }), 'event_type'],
        ['POST', `/v1/endpoints/${ids.endpoint}/secret/rotate`, (b) => ({ secret: b }), 'secret'],
      ];
      await writesNothing(async () => {
        for (const [method, p, body, field] of cases) {
          for (const bad of [NUL, LONE, `x${'\udc00'}`]) {
            const r = await api(method, p, body(bad));
            assertProblem(r, 400, 'invalid_field', field);
            assert.equal(r.body.errors[0].field, field);
          }
        }
      });
    });

    test('bodies nested deeper than 32 levels are 400; other control characters stay allowed', async () => {
      const nest = (n: number): unknown => (n === 0 ? 'leaf' : [nest(n - 1)]);
      await writesNothing(async () => {
        for (const n of [33, 40, 100_000]) {
          // as text: the client's own JSON.stringify would overflow its stack first
          const raw = `{"from": "+1", "to": "+2", "metadata": {"a": ${'['.repeat(n)}${']'.repeat(n)}}}`;
          assertProblem(await st.s.api('POST', '/v1/calls', undefined, { raw }), 400, 'invalid_field');
        }
      });
      assert.equal((await api('POST', '/v1/calls', { from: '+1', to: '+2', metadata: { a: nest(29) } })).status, 201);
      // \n, \t and other controls are text; a surrogate pair (an emoji) is well-formed
      const wh = await api('POST', '/v1/webhooks', { url: `${rx.url}/nl`, body: '{\n\t"id": "{{id}}",\r\n"x": "\u0001"\n}' });
      assert.equal(wh.status, 201, JSON.stringify(wh.body));
      const acct = await api('POST', '/v1/accounts', { name: 'Ürün 📞 line\none' });
      assert.equal(acct.status, 201, JSON.stringify(acct.body));
      assert.equal(acct.body.name, 'Ürün 📞 line\none');
      const t = await api('POST', `/v1/calls/${ids.call}/transcript`, { type: 'agent', message: 'a\tb\u001fc' });
      assert.equal(t.status, 201, JSON.stringify(t.body));
    });

    test('header values with CR, LF, NUL or other unsendable characters are refused on create, PATCH and PUT', async () => {
      const url = `${rx.url}/h`;
      const saves: [string, string, (h: Record<string, string>) => Json][] = [
        ['POST', '/v1/endpoints', (headers) => ({ url, headers })],
        ['PATCH', `/v1/endpoints/${ids.endpoint}`, (headers) => ({ headers })],
        ['POST', '/v1/callback-profiles', (headers) => ({ name: 'h', url, headers })],
        ['PATCH', `/v1/callback-profiles/${ids.profile}`, (headers) => ({ headers })],
        ['POST', '/v1/webhooks', (headers) => ({ url, headers })],
        ['PATCH', `/v1/webhooks/${ids.webhook}`, (headers) => ({ headers })],
        ['PUT', '/v1/integrations/custom-webhook', (headers) => ({ enabled: true, url, headers })],
      ];
      const badValues = ['v\r\nX-Injected: 1', 'v\nx', 'v\rx', `v${NUL}x`, 'caf\u00e9 \u20ac', 'a\u0007b', 'a\u007fb'];
      await writesNothing(async () => {
        for (const [method, p, body] of saves) {
          for (const v of badValues) assertProblem(await api(method, p, body({ 'x-ok': '1', 'x-a': v })), 400, 'invalid_field', 'headers.x-a');
          assertProblem(await api(method, p, body({ 'x a': '1' })), 400, 'invalid_field', 'headers.x a');
          assertProblem(await api(method, p, body({ 'x:a': '1' })), 400, 'invalid_field', 'headers.x:a');
          for (const name of ['Keep-Alive', 'upgrade', 'Expect']) assertProblem(await api(method, p, body({ [name]: '1' })), 400, 'invalid_field', `headers.${name}`);
          // a [redacted] header sent back keeps its stored value; a bad one beside it is still refused
          assertProblem(await api(method, p, body({ authorization: '[redacted]', 'x-a': 'a\r\nb' })), 400, 'invalid_field', 'headers.x-a');
        }
        // seed 001: a content-type that matches body_format is dropped, but only if it is sendable
        assertProblem(await api('POST', '/v1/webhooks', { url, headers: { 'content-type': 'application/json;\r\nX-Injected: 1' } }), 400, 'invalid_field', 'headers.content-type');
      });
      // tab, visible ASCII and Latin-1 are what undici sends
      for (const [method, p, body] of saves) {
        const r = await api(method, p, body({ 'x-a': 'tab\there caf\u00e9 ~!', authorization: '[redacted]' }));
        assert.ok(r.status === 200 || r.status === 201, `${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
      }
    });

    test('a cursor that is not an id of the listed kind is 400 invalid_cursor; a real one pages', async () => {
      const lists: [string, string][] = [
        ['/v1/calls', ids.call!], ['/v1/deliveries', `msg_${'0'.repeat(26)}`], ['/v1/endpoints', ids.endpoint!],
        ['/v1/callback-profiles', ids.profile!], ['/v1/webhooks', ids.webhook!], ['/v1/subscriptions', ids.subscription!],
        ['/v1/properties', ids.property!], ['/v1/call-tracking/webhooks', ids.trackingWebhook!],
      ];
      const others = Object.values(ids);
      for (const [p, good] of lists) {
        const bad = ['garbage', good.toUpperCase(), `${good}0`, good.slice(0, -1), `${good.slice(0, -1)}u`, ' ', ...others.filter((o) => o !== good)];
        for (const c of bad) assertProblem(await api('GET', `${p}?cursor=${encodeURIComponent(c)}`), 400, 'invalid_cursor', 'query.cursor');
        for (const c of [good, '']) {
          const r = await api('GET', `${p}?limit=5&cursor=${encodeURIComponent(c)}`);
          assert.equal(r.status, 200, `${p} cursor=${c}: ${JSON.stringify(r.body)}`);
          assert.ok(Array.isArray(r.body.data));
        }
      }
      // walking a list page by page still ends
      await created('/v1/properties', { name: 'two' });
      const first = await api('GET', '/v1/properties?limit=1');
      assert.equal(typeof first.body.next_cursor, 'string');
      const second = await api('GET', `/v1/properties?limit=1&cursor=${first.body.next_cursor}`);
      assert.equal(second.status, 200);
      assert.notEqual(second.body.data[0].sid, first.body.data[0].sid);
    });
  });
}
