/**
 * An attempt's headers in two parts (delivery/headers.ts): the part a request head shares,
 * rendered once, and the attempt's own. Sent and logged, the two parts must be exactly what one
 * merged object was: the same names, values and order on the wire, and the same JSON in the
 * log (secrets redacted), whatever the target's headers hold.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attemptHeaders, deliveryHeaders, loggedHead, loggedTail, sharedHeaders, USER_AGENT, type AttemptHeaders, type HeaderInput } from '../src/delivery/headers.ts';
import { redactHeaders, redactUrl } from '../src/delivery/redact.ts';
import { generateSecret } from '../src/delivery/signing.ts';
import type { SendSettings } from '../src/targets/model.ts';

const settings = (secrets: string[]): SendSettings => ({
  resource_id: 'ep_1', enabled: true, disabled_reason: null, secrets, concurrency: 16, timeout_ms: 5000, connect_timeout_ms: 2000, failing_since: null, signing_key: null, url: null,
});

const input = (headers: Record<string, string>, format = 'standard'): HeaderInput => ({
  id: 'msg_1', event_seq: 3, target_format: format,
  request: { method: 'POST', url: 'https://u:p@receiver.example/hook?token=abc&x=1', headers, body: '{"a":1}' },
});

/** What the log held when the headers were one merged object. */
const loggedRequest = (method: string, url: string, h: AttemptHeaders): string => loggedHead(method, url, h.shared) + loggedTail(h);
const merged = (d: HeaderInput, h: Record<string, string>): string =>
  JSON.stringify({ method: d.request.method, url: redactUrl(d.request.url), headers: redactHeaders(h) });

test('shared and own headers send and log what one merged object did', () => {
  for (const secrets of [[], [generateSecret()], [generateSecret(), generateSecret()]]) {
    const d = input({ 'content-type': 'application/json', authorization: 'Bearer secret', 'x-custom': 'v' });
    const h = attemptHeaders(d, settings(secrets), 2, 1_700_000_000);
    const all = deliveryHeaders(d, settings(secrets), 2, 1_700_000_000);
    // the wire: user agent, the target's headers, then the attempt's own, in that order
    assert.deepEqual(Object.keys(all), ['user-agent', 'content-type', 'authorization', 'x-custom', 'webhook-id', 'hookline-seq', 'hookline-attempt',
      ...(secrets.length > 0 ? ['webhook-timestamp', 'webhook-signature'] : [])]);
    assert.equal(all['user-agent'], USER_AGENT);
    assert.equal(all['hookline-attempt'], '2');
    assert.equal(h.shared.lines + Object.entries(h.own).map(([k, v]) => `${k}: ${v}\r\n`).join(''), Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join(''));
    // the log: the same JSON as before, secrets redacted
    const logged = loggedRequest(d.request.method, d.request.url, h);
    assert.equal(logged, merged(d, all));
    const back = JSON.parse(logged) as { url: string; headers: Record<string, string> };
    assert.equal(back.headers.authorization, '[redacted]');
    if (secrets.length > 0) assert.equal(back.headers['webhook-signature'], '[redacted]');
    assert.ok(!back.url.includes('abc') && !back.url.includes('u:p'));
  }
});

test('the shared part is rendered once per headers object; the log’s head once per method and URL', () => {
  const headers = Object.freeze({ 'content-type': 'application/json' });
  const s = sharedHeaders({ headers });
  assert.equal(sharedHeaders({ headers }), s);
  // headers of one request (read back from a row): rendered, not kept
  const own = { ...headers };
  assert.notEqual(sharedHeaders({ headers: own }), sharedHeaders({ headers: own }));
  assert.equal(sharedHeaders({ headers: own }).shared, false);
  assert.equal(s.shared, true);
  const a = loggedHead('POST', 'https://receiver.example/a', s);
  assert.equal(loggedHead('POST', 'https://receiver.example/a', s), a);
  // another URL through the same headers: its own head, never the last one's
  assert.ok(loggedHead('POST', 'https://receiver.example/b', s).includes('/b"'));
  assert.ok(loggedHead('PUT', 'https://receiver.example/a', s).startsWith('{"method":"PUT"'));
});

test('with no shared headers or no own headers, head and tail still make one JSON object', () => {
  const none: AttemptHeaders = { shared: sharedHeaders({ headers: {} }), own: { 'webhook-id': 'msg_1' } };
  const empty = loggedHead('POST', 'http://h/x', none.shared) + loggedTail(none);
  assert.deepEqual(JSON.parse(empty), { method: 'POST', url: 'http://h/x', headers: { 'user-agent': USER_AGENT, 'webhook-id': 'msg_1' } });
  const noOwn: AttemptHeaders = { shared: sharedHeaders({ headers: { a: 'b' } }), own: {} };
  assert.deepEqual(JSON.parse(loggedHead('GET', 'http://h/y', noOwn.shared) + loggedTail(noOwn)), { method: 'GET', url: 'http://h/y', headers: { 'user-agent': USER_AGENT, a: 'b' } });
});

test('a target header named like an attempt header: the attempt value, in the target header’s place', () => {
  const d = input({ 'hookline-seq': 'mine', 'content-type': 'application/json' });
  const h = attemptHeaders(d, settings([]), 1, 1_700_000_000);
  const all = deliveryHeaders(d, settings([]), 1, 1_700_000_000);
  assert.deepEqual(Object.keys(all), ['user-agent', 'hookline-seq', 'content-type', 'webhook-id', 'hookline-attempt']);
  assert.equal(all['hookline-seq'], '3');
  // sent once, never twice
  const wire = h.shared.lines + Object.entries(h.own).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  assert.equal(wire.match(/^hookline-seq:/gm)?.length, 1);
  assert.equal(loggedRequest(d.request.method, d.request.url, h), merged(d, all));
});

test('a shared header value with a line break is refused when sent', () => {
  const s = sharedHeaders({ headers: { 'x-bad': 'a\r\nb' } });
  assert.match(s.bad ?? '', /x-bad holds a line break/);
  assert.equal(sharedHeaders({ headers: { 'x-ok': 'a b' } }).bad, null);
});
