import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { channelsSignature, generateSecret, isValidSecret, standardHeaders, standardSignature } from '../src/delivery/signing.ts';
import { startReceiver, waitFor, type Receiver } from './helpers.ts';

let rx: Receiver;
before(async () => {
  rx = await startReceiver();
});
after(() => rx.close());

/** The headers as the receiver saw them, flattened to strings as the libraries expect. */
function plainHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Sends a signed request to the real receiver and answers what arrived, byte for byte. */
async function deliver(secrets: string[], msgId: string, body: string): Promise<{ body: string; headers: Record<string, string> }> {
  const before = rx.requests.length;
  const ts = Math.floor(Date.now() / 1000);
  const res = await fetch(rx.url + '/hook', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...standardHeaders(secrets, msgId, ts, body) },
    body,
  });
  assert.equal(res.status, 200);
  await res.text();
  const got = await waitFor(() => rx.requests[before], 5_000, 'the signed request');
  return { body: got.body, headers: plainHeaders(got.headers) };
}

// Non-ASCII on purpose: the signature is over UTF-8 bytes, which must match the libraries exactly.
const BODY = JSON.stringify({ type: 'call.ended', timestamp: '2024-05-01T12:00:00.000Z', data: { id: 'call_1', note: 'Zoë 📞 ünïcode' } });

test('generateSecret makes valid, distinct whsec_ secrets of 24 bytes', () => {
  const a = generateSecret();
  const b = generateSecret();
  assert.match(a, /^whsec_[A-Za-z0-9+/]{32}$/);
  assert.notEqual(a, b);
  assert.equal(Buffer.from(a.slice(6), 'base64').length, 24);
  assert.ok(isValidSecret(a));
});

test('isValidSecret accepts whsec_ + canonical base64 of 24..64 bytes only', () => {
  const b64 = (n: number) => 'whsec_' + Buffer.alloc(n, 7).toString('base64');
  assert.ok(isValidSecret(b64(24)));
  assert.ok(isValidSecret(b64(25))); // padded
  assert.ok(isValidSecret(b64(64)));
  assert.ok(isValidSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')); // the Svix documentation's example
  assert.equal(isValidSecret(b64(23)), false);
  assert.equal(isValidSecret(b64(65)), false);
  assert.equal(isValidSecret(Buffer.alloc(24, 7).toString('base64')), false); // no prefix
  assert.equal(isValidSecret('whsec_'), false);
  assert.equal(isValidSecret('whsec_' + 'A'.repeat(31) + '!'), false);
  assert.equal(isValidSecret('whsec_' + Buffer.alloc(25, 7).toString('base64').replace(/=+$/, '')), false); // padding missing
  const urlSafe = Buffer.alloc(24, 0xfb).toString('base64url'); // base64url is not what receivers decode
  assert.match(urlSafe, /[-_]/);
  assert.equal(isValidSecret('whsec_' + urlSafe), false);
  assert.equal(isValidSecret(' ' + b64(24)), false);
});

test('a signed request verifies with standardwebhooks and svix on the raw body and headers', async () => {
  const secret = generateSecret();
  const got = await deliver([secret], 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', BODY);
  assert.equal(got.body, BODY);
  assert.equal(got.headers['webhook-id'], 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W');
  assert.match(got.headers['webhook-timestamp'] ?? '', /^\d+$/);
  assert.match(got.headers['webhook-signature'] ?? '', /^v1,[A-Za-z0-9+/]{43}=$/);
  assert.deepEqual(new StandardWebhook(secret).verify(got.body, got.headers), JSON.parse(BODY));
  assert.deepEqual(new SvixWebhook(secret).verify(got.body, got.headers), JSON.parse(BODY));
});

test('tampering with the body, the id or the timestamp makes verification fail', async () => {
  const secret = generateSecret();
  const got = await deliver([secret], 'msg_tamper', BODY);
  const verifiers = [new StandardWebhook(secret), new SvixWebhook(secret)];
  const ts = Number(got.headers['webhook-timestamp']);
  const tampered: Array<[string, string, Record<string, string>]> = [
    ['body', got.body.replace('call_1', 'call_2'), got.headers],
    ['body (one trailing byte)', got.body + ' ', got.headers],
    ['id', got.body, { ...got.headers, 'webhook-id': 'msg_other' }],
    ['timestamp', got.body, { ...got.headers, 'webhook-timestamp': String(ts - 1) }],
    ['signature', got.body, { ...got.headers, 'webhook-signature': standardSignature([generateSecret()], 'msg_tamper', ts, got.body) }],
  ];
  for (const wh of verifiers) {
    assert.doesNotThrow(() => wh.verify(got.body, got.headers));
    for (const [what, body, headers] of tampered) {
      assert.throws(() => wh.verify(body, headers), /signature/i, `tampered ${what} must not verify`);
    }
  }
});

test('during a rotation both secrets sign, and either one alone verifies', async () => {
  const oldSecret = generateSecret();
  const newSecret = generateSecret();
  const got = await deliver([oldSecret, newSecret], 'msg_rotation', BODY);
  const sig = got.headers['webhook-signature'] ?? '';
  const parts = sig.split(' ');
  assert.equal(parts.length, 2);
  for (const p of parts) assert.match(p, /^v1,[A-Za-z0-9+/]{43}=$/);
  for (const secret of [oldSecret, newSecret]) {
    assert.deepEqual(new StandardWebhook(secret).verify(got.body, got.headers), JSON.parse(BODY));
    assert.deepEqual(new SvixWebhook(secret).verify(got.body, got.headers), JSON.parse(BODY));
  }
  assert.throws(() => new StandardWebhook(generateSecret()).verify(got.body, got.headers), /signature/i);
});

test('standardSignature matches the Standard Webhooks reference vector and library sign()', () => {
  // The example from the Standard Webhooks / Svix documentation.
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const ts = 1614265330;
  const body = '{"test": 2432232314}';
  assert.equal(standardSignature([secret], id, ts, body), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  // an unprefixed secret is the same base64 key
  assert.equal(standardSignature(['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], id, ts, body), standardSignature([secret], id, ts, body));
  const s2 = generateSecret();
  assert.equal(standardSignature([s2], id, ts, BODY), new StandardWebhook(s2).sign(id, new Date(ts * 1000), BODY));
  assert.deepEqual(standardHeaders([secret], id, ts, body), {
    'webhook-id': id,
    'webhook-timestamp': '1614265330',
    'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  });
});

test('standardSignature refuses what it cannot sign faithfully', () => {
  assert.throws(() => standardSignature([], 'msg', 1, '{}'));
  assert.throws(() => standardSignature([generateSecret()], 'msg', 1.5, '{}'), RangeError);
  assert.throws(() => standardSignature(['whsec_'], 'msg', 1, '{}'));
});

test('channelsSignature follows the Bird formula: HMAC over "ts\\nurl\\n" and the raw SHA-256 of the body', () => {
  const key = 'my-signing-key-Ω';
  const ts = 1700000000;
  const url = 'https://example.test/hooks/bird?x=1&y=%20';
  const body = JSON.stringify({ service: 'channels', event: 'voice.inbound', payload: { id: 'c1', from: '+31612345678' } });
  // Recomputed independently from the formula, with the pieces laid out as bytes
  const digest = createHash('sha256').update(Buffer.from(body, 'utf8')).digest();
  assert.equal(digest.length, 32);
  const input = Buffer.concat([Buffer.from(String(ts), 'utf8'), Buffer.from([0x0a]), Buffer.from(url, 'utf8'), Buffer.from([0x0a]), digest]);
  const expected = createHmac('sha256', Buffer.from(key, 'utf8')).update(input).digest('base64');
  assert.equal(channelsSignature(key, ts, url, body), expected);
  // each input matters
  assert.notEqual(channelsSignature(key, ts + 1, url, body), expected);
  assert.notEqual(channelsSignature(key, ts, url + '&z', body), expected);
  assert.notEqual(channelsSignature(key, ts, url, body + ' '), expected);
  assert.notEqual(channelsSignature(key + 'x', ts, url, body), expected);
  // and the hex digest (a common mistake) gives a different value
  const hexInput = Buffer.from(`${ts}\n${url}\n${digest.toString('hex')}`, 'utf8');
  assert.notEqual(channelsSignature(key, ts, url, body), createHmac('sha256', key).update(hexInput).digest('base64'));
});
