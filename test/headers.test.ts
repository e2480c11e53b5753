/**
 * An attempt's headers in two parts (delivery/headers.ts): the part a request head shares,
 * rendered once, and the attempt's own. Sent and logged, the two parts must be exactly what one
 * merged object was: the same names, values and order on the wire, and the same JSON in the
 * log (secrets redacted), whatever the target's headers hold.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attemptHeaders, deliveryHeaders, loggedRequest, sharedHeaders, USER_AGENT, type HeaderInput } from '../src/delivery/headers.ts';
import { redactHeaders, redactUrl } from '../src/delivery/redact.ts';
import { generateSecret } from '../src/delivery/signing.ts';
import type { SendSettings } from '../src/targets/model.ts';

const settings = (secrets: string[]): SendSettings => ({
  resource_id: 'ep_1', enabled: true, disabled_reason: null, secrets, concurrency: 16, timeout_ms: 5000, connect_timeout_ms: 2000, failing_since: null, signing_key: null,
});

const input = (headers: Record<string, string>, format = 'standard'): HeaderInput => ({
  id: 'msg_1', event_seq: 3, target_format: format,
  request: { method: 'POST', url: 'https://u:p@receiver.example/hook?token=abc&x=1', headers, body: '{"a":1}' },
});

/** What the log held when the headers were one merged object. */
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

test('the shared part is rendered once per headers object', () => {
  const headers = Object.freeze({ 'content-type': 'application/json' });
  assert.equal(sharedHeaders({ headers }), sharedHeaders({ headers }));
  assert.notEqual(sharedHeaders({ headers }), sharedHeaders({ headers: { ...headers } }));
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
