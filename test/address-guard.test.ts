import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Agent, fetch as undiciFetch, request } from 'undici';
import { AddressRefusedError, checkTargetUrl, guardedConnect, isAddressRefused, isForbiddenAddress } from '../src/delivery/address-guard.ts';
import { HooklineError } from '../src/errors.ts';
import { startReceiver, type Receiver } from './helpers.ts';

let rx: Receiver;
before(async () => {
  rx = await startReceiver();
});
after(() => rx.close());

const FORBIDDEN = [
  '0.0.0.0', '0.1.2.3', '10.0.0.1', '10.255.255.255', '100.64.0.1', '100.127.255.254', '127.0.0.1', '127.1.2.3',
  '169.254.169.254', '172.16.0.1', '172.31.255.255', '192.0.0.8', '192.168.1.1', '198.18.0.1', '198.19.255.255',
  '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255', '192.0.2.1', '198.51.100.7', '203.0.113.9',
  '2001:db8::1', '2001:0:4136:e378:8000:63bf:80ff:fffe' /* Teredo, client 127.0.0.1 */,
  '::', '::1', '[::1]', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'FE80::1', 'febf::1', 'fe80::1%eth0', 'fec0::1', 'ff02::1', 'ff0e::1',
  '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '::ffff:0.0.0.0',
  '64:ff9b::127.0.0.1', '64:ff9b::a00:1', '::127.0.0.1', '::10.0.0.1', '::ffff:0:192.168.0.1', '2002:7f00:1::1', '2002:a9fe:a9fe::',
  'not-an-ip', '',
];
const ALLOWED = [
  '93.184.216.34', '8.8.8.8', '1.1.1.1', '9.255.255.255', '11.0.0.1', '100.63.255.255', '100.128.0.1', '126.255.255.255',
  '128.0.0.1', '169.253.0.1', '172.15.255.255', '172.32.0.1', '192.0.1.1', '192.167.0.1', '192.169.0.1', '198.17.0.1',
  '198.20.0.1', '223.255.255.255',
  '2606:2800:220:1:248:1893:25c8:1946', '2001:4860:4860::8888', '::ffff:93.184.216.34', '64:ff9b::8.8.8.8', '2002:5db8:d822::1',
  'fbff::1', 'fe7f::1', 'ff::1', '2001:0:4136:e378:8000:63bf:f7f7:f7f7' /* Teredo, client 8.8.8.8 */, '192.0.3.1', '203.0.114.1',
];

test('isForbiddenAddress refuses loopback, private, link-local, CGNAT, multicast, unspecified and embedded forms', () => {
  for (const ip of FORBIDDEN) assert.equal(isForbiddenAddress(ip), true, `${ip} must be forbidden`);
  for (const ip of ALLOWED) assert.equal(isForbiddenAddress(ip), false, `${ip} must be allowed`);
});

function refusedAtSave(url: string, field = 'url'): void {
  assert.throws(() => checkTargetUrl(url, false, field), (err: unknown) => {
    assert.ok(err instanceof HooklineError, `${url}: ${String(err)}`);
    assert.equal(err.code, 'target_not_allowed', url);
    assert.equal(err.status, 400);
    assert.equal(err.field, field);
    return true;
  }, url);
}

test('checkTargetUrl refuses forbidden literal addresses and localhost names unless allowed', () => {
  const refused = [
    'http://127.0.0.1/', 'http://10.0.0.1:8080/x', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]:3000/',
    'http://localhost/', 'http://LOCALHOST:80/', 'http://localhost./', 'http://api.localhost/hook', 'https://100.64.0.1/',
    'http://192.168.1.1/', 'http://[::ffff:127.0.0.1]/', 'http://0.0.0.0/', 'http://[fe80::1]/', 'http://[fd00::5]/',
    'http://[64:ff9b::10.0.0.1]/', 'http://[::127.0.0.1]/', 'http://224.0.0.1/', 'http://255.255.255.255/',
    // numeric spellings WHATWG URL normalises to 127.0.0.1 / 10.0.0.1 / 169.254.169.254
    'http://2130706433/', 'http://0x7f.1/', 'http://0177.0.0.1/', 'http://127.1/', 'http://0x7f000001/', 'http://012.0.0.1/',
    'http://0xa9fea9fe/', 'http://127.0.0.1./',
  ];
  for (const url of refused) {
    refusedAtSave(url);
    assert.equal(checkTargetUrl(url, true).protocol, new URL(url).protocol, `${url} is fine when private targets are allowed`);
  }
  refusedAtSave('http://127.0.0.1/', 'callback.call_end.url[0]');
});

test('checkTargetUrl passes public addresses and names, and answers the parsed URL', () => {
  for (const url of ['http://93.184.216.34/hook', 'https://[2606:2800:220:1:248:1893:25c8:1946]/', 'https://example.com/hooks?a=1', 'http://localhost.example.com/', 'https://mylocalhost/']) {
    const u = checkTargetUrl(url, false);
    assert.ok(u instanceof URL);
    assert.equal(u.href, new URL(url).href);
  }
});

test('checkTargetUrl: bad syntax, other schemes and credentials are invalid_field with the field named', () => {
  for (const url of ['not a url', '/relative/path', 'ftp://example.com/', 'file:///etc/passwd', 'javascript:alert(1)', 'http://', 'https://user:pw@example.com/', 'http://user@example.com/']) {
    for (const allow of [false, true]) {
      assert.throws(() => checkTargetUrl(url, allow, 'webhook.url'), (err: unknown) => {
        assert.ok(err instanceof HooklineError, url);
        assert.equal(err.code, 'invalid_field', url);
        assert.equal(err.field, 'webhook.url');
        return true;
      }, url);
    }
  }
});

/** Requests `url` through a guarded agent; answers the error (or null on success). */
async function attempt(url: string, allowPrivate: boolean): Promise<unknown> {
  const agent = new Agent({ connect: guardedConnect(allowPrivate, { connectTimeoutMs: 2_000 }) });
  try {
    const res = await request(url, { method: 'POST', body: '{}', dispatcher: agent });
    await res.body.text();
    return null;
  } catch (err) {
    return err;
  } finally {
    await agent.close();
  }
}

test('at connect time a forbidden address is refused and the receiver sees nothing', async () => {
  const port = rx.port;
  const seen = rx.requests.length;
  const urls = [
    `http://127.0.0.1:${port}/hook`,
    `http://localhost:${port}/hook`, // a name: judged on what it resolves to
    `http://[::1]:${port}/hook`,
    `http://[::ffff:127.0.0.1]:${port}/hook`,
    `http://2130706433:${port}/hook`,
    `http://0.0.0.0:${port}/hook`,
    `http://10.0.0.1:${port}/hook`,
    `http://100.64.0.1:${port}/hook`,
    `http://192.168.1.1:${port}/hook`,
    `http://169.254.169.254:${port}/latest/meta-data/`,
    `https://127.0.0.1:${port}/hook`,
    `https://localhost:${port}/hook`,
  ];
  for (const url of urls) {
    const err = await attempt(url, false);
    assert.ok(err, `${url} must fail`);
    assert.equal(isAddressRefused(err), true, `${url}: ${String(err)}`);
    assert.match((err as Error).message, /refused/);
    if (new URL(url).hostname === 'localhost') {
      // refused by the lookup, on what the name resolved to, not by a check of the name
      assert.ok(err instanceof AddressRefusedError);
      assert.equal(err.hostname, 'localhost');
      assert.ok(isForbiddenAddress(err.address) && err.address !== 'localhost', err.address);
    }
  }
  assert.equal(rx.requests.length, seen, 'no request may reach the receiver');
});

test('a refusal is recognised through the cause chain of undici fetch', async () => {
  const seen = rx.requests.length;
  const agent = new Agent({ connect: guardedConnect(false) });
  try {
    const err = await undiciFetch(`http://localhost:${rx.port}/`, { dispatcher: agent }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof TypeError); // fetch's "fetch failed", with the refusal as cause
    assert.equal(isAddressRefused(err), true);
  } finally {
    await agent.close();
  }
  assert.equal(rx.requests.length, seen);
  assert.equal(isAddressRefused(new Error('x', { cause: new Error('y', { cause: Object.assign(new Error('z'), { code: 'HOOKLINE_ADDRESS_REFUSED' }) }) })), true);
  assert.equal(isAddressRefused(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })), false);
  assert.equal(isAddressRefused(null), false);
  assert.equal(isAddressRefused('HOOKLINE_ADDRESS_REFUSED'), false);
});

test('with private targets allowed, the same request reaches the receiver', async () => {
  const seen = rx.requests.length;
  assert.equal(await attempt(`http://127.0.0.1:${rx.port}/allowed`, true), null);
  assert.equal(rx.requests.length, seen + 1);
  assert.equal(rx.requests.at(-1)?.url, '/allowed');
});

test('the connect timeout is the one given', async () => {
  // A TCP server that accepts and then says nothing: a TLS handshake never completes, so only
  // the connect timeout can end the attempt.
  const sockets = new Set<Socket>();
  const silent = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as AddressInfo).port;
  const agent = new Agent({ connect: guardedConnect(true, { connectTimeoutMs: 150 }) });
  try {
    const started = Date.now();
    const err = await request(`https://127.0.0.1:${port}/`, { dispatcher: agent }).then(() => null, (e: unknown) => e);
    const took = Date.now() - started;
    assert.equal((err as { code?: string } | null)?.code, 'UND_ERR_CONNECT_TIMEOUT');
    // undici's connect timer ticks about every 0.5 s, so only bound it loosely; the message names the value used
    assert.match((err as Error).message, /timeout: 150ms/);
    assert.ok(took >= 100 && took < 4_000, `took ${took} ms`);
    assert.equal(isAddressRefused(err), false);
  } finally {
    await agent.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});
