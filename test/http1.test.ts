/**
 * The delivery client's HTTP/1.1 (src/delivery/http1.ts) against raw TCP servers that answer
 * byte for byte as a test says: framing, keep-alive, stale connections, limits, cancels.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { after, test } from 'node:test';
import { buildConnector } from 'undici';
import { Http1Origin, PLAIN_READS, type Http1Handler, type PreparedLines } from '../src/delivery/http1.ts';
import { parseAnswerHead } from '../src/delivery/http1-head.ts';

interface Answer {
  status: number | null;
  headers: Record<string, string> | null;
  body: string;
  error: Error | null;
}

/** Calls `onRequest` with each whole request a socket reads (bodies by content-length). */
function eachRequest(s: Socket, onRequest: (text: string, head: string) => void): void {
  let buf = Buffer.alloc(0);
  s.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.toString('latin1', 0, end);
      const m = /content-length: (\d+)/i.exec(head);
      const total = end + 4 + (m ? Number(m[1]) : 0);
      if (buf.length < total) return;
      const text = buf.toString('utf8', 0, total);
      buf = buf.subarray(total);
      onRequest(text, head);
    }
  });
  s.on('error', () => undefined);
}

/** A server that runs `onRequest` for each request head it reads (bodies by content-length). */
async function rawServer(onRequest: (s: Socket, n: number, head: string) => void): Promise<{ server: Server; origin: string; sockets: Set<Socket>; requests: string[] }> {
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    eachRequest(s, (text, head) => {
      requests.push(text);
      onRequest(s, requests.length, head);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets, requests };
}

function send(o: Http1Origin, body: string | null = '{"a":1}', headers: Record<string, string> = { 'content-type': 'application/json' }, readAtMost = Infinity, shared: PreparedLines | null = null, path = '/hook'): Promise<Answer> & { cancel: (e: Error) => void } {
  let job: { cancel(e: Error): void } | undefined;
  const p = new Promise<Answer>((resolve) => {
    const a: Answer = { status: null, headers: null, body: '', error: null };
    const h: Http1Handler = {
      onHead(status, hs) {
        a.status = status;
        a.headers = hs;
      },
      onData(chunk) {
        a.body += chunk.toString();
        return a.body.length <= readAtMost;
      },
      onComplete: () => resolve(a),
      onError(err) {
        a.error = err;
        resolve(a);
      },
    };
    job = o.request('POST', path, shared, headers, body, h);
  });
  return Object.assign(p, { cancel: (e: Error) => job!.cancel(e) });
}

// Plain sockets as Hookline makes them, reading into one reused buffer (PLAIN_READS), and as streams (as TLS sockets do):
// every exchange below must come out the same either way.
const CONNECTORS = { 'stream reads': buildConnector({ timeout: 2000 }), 'reads into one buffer': buildConnector({ timeout: 2000, onread: PLAIN_READS }) };
const connect = CONNECTORS['reads into one buffer'];
for (const [how, connect] of Object.entries(CONNECTORS)) {

  test(`content-length, chunked (split anywhere, with trailers) and close-framed answers; one connection kept for all (${how})`, async () => {
    const answers = [
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nX-A: 2\r\n\r\nhello',
      'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0a\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n',
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\nok',
      'HTTP/1.1 204 No Content\r\n\r\n',
    ];
    const srv = await rawServer((s, n) => {
      const text = answers[n - 1]!;
      // byte by byte for the chunked one: every state must survive a split
      if (n !== 2) return void s.write(text);
      let i = 0;
      const next = (): void => {
        if (i < text.length) s.write(text[i++]!, () => setImmediate(next));
      };
      next();
    });
    const o = new Http1Origin(srv.origin, connect, 4);
    const a1 = await send(o);
    assert.deepEqual([a1.status, a1.body, a1.headers!['x-a'], a1.error], [200, 'hello', '1, 2', null]);
    const a2 = await send(o);
    assert.deepEqual([a2.status, a2.body, a2.error], [201, 'abc0123456789', null]);
    const a3 = await send(o);
    assert.deepEqual([a3.status, a3.body], [202, 'ok']);
    const a4 = await send(o, null);
    assert.deepEqual([a4.status, a4.body], [204, '']);
    assert.equal(srv.requests.length, 4);
    assert.match(srv.requests[0]!, /^POST \/hook HTTP\/1\.1\r\nhost: 127\.0\.0\.1:\d+\r\ncontent-type: application\/json\r\ncontent-length: 7\r\n\r\n\{"a":1\}$/);
    assert.match(srv.requests[3]!, /content-length: 0\r\n\r\n$/);
    o.destroy(new Error('end'));

    // an answer framed by the close of the connection; the next request gets a new connection
    let conns = 0;
    const closing = await rawServer((s) => s.end('HTTP/1.1 200 OK\r\n\r\nuntil the end'));
    closing.server.on('connection', () => conns++);
    const c = new Http1Origin(closing.origin, connect, 4);
    assert.deepEqual([(await send(c)).body, (await send(c)).body], ['until the end', 'until the end']);
    assert.equal(conns, 2);
    c.destroy(new Error('end'));
  });

  test(`Connection: close and HTTP/1.0 end the connection; keep-alive reuses it (${how})`, async () => {
    const seen = new Set<Socket>();
    const srv = await rawServer((s, n) => {
      seen.add(s);
      s.write(n === 1 ? 'HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n'
        : n === 2 ? 'HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n'
        : 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
    });
    const o = new Http1Origin(srv.origin, connect, 4);
    for (let i = 0; i < 5; i++) assert.equal((await send(o)).status, 200);
    // 1 and 2 each on their own connection, 3, 4, 5 on one
    assert.equal(seen.size, 3);
    o.destroy(new Error('end'));
  });

  test(`a request written on a connection the server had closed is sent once more on a new one (${how})`, async () => {
    const srv = await rawServer((s, n) => {
      if (n === 1) s.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
      // the second request arrives on the kept connection: closed without a byte of answer
      else if (n === 2) s.destroy();
      else s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    });
    const o = new Http1Origin(srv.origin, connect, 4);
    assert.equal((await send(o)).status, 200);
    const again = await send(o);
    assert.deepEqual([again.status, again.body, again.error], [200, 'ok', null]);
    assert.equal(srv.requests.length, 3);

    // on a new connection the same close is an error, not sent again
    const fresh = await rawServer((s) => s.destroy());
    const f = new Http1Origin(fresh.origin, connect, 4);
    const a = await send(f);
    assert.equal(a.status, null);
    assert.match(String((a.error as { code?: string }).code), /SOCKET_CLOSED|ECONNRESET/);
    assert.equal(fresh.requests.length, 1);
    o.destroy(new Error('end'));
    f.destroy(new Error('end'));
  });

  test(`a Keep-Alive hint shortens how long an idle connection is kept (${how})`, async () => {
    const seen = new Set<Socket>();
    const srv = await rawServer((s) => {
      seen.add(s);
      s.write('HTTP/1.1 200 OK\r\nkeep-alive: timeout=1\r\ncontent-length: 0\r\n\r\n');
    });
    const o = new Http1Origin(srv.origin, connect, 4);
    await send(o);
    // timeout=1 less the 1 s margin: not kept at all
    await send(o);
    assert.equal(seen.size, 2);
    o.destroy(new Error('end'));
  });

  test(`limits: a head too large, a body past what the handler reads, an answer that is not HTTP (${how})`, async () => {
    const srv = await rawServer((s, n) => {
      if (n === 1) s.write(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(70 * 1024)}\r\n\r\n`);
      else if (n === 2) s.write(`HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n${'b'.repeat(100_000)}`);
      else s.write('SSH-2.0-OpenSSH\r\n\r\n');
    });
    const o = new Http1Origin(srv.origin, connect, 4);
    const big = await send(o);
    assert.equal(big.status, null);
    assert.match(big.error!.message, /head is too large/);
    const long = await send(o, '{}', {}, 10_000);
    assert.equal(long.status, 200);
    assert.equal(long.error, null);
    assert.ok(long.body.length > 10_000 && long.body.length < 100_000, `read ${long.body.length}`);
    const bad = await send(o);
    assert.match(bad.error!.message, /not HTTP/);
    o.destroy(new Error('end'));
  });

  test(`past the connection limit requests wait; a waiting or hanging request can be cancelled (${how})`, async () => {
    let hold: Socket | undefined;
    const srv = await rawServer((s, n) => {
      if (n === 1) hold = s; // answers later
      else s.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
    });
    const o = new Http1Origin(srv.origin, connect, 1);
    const first = send(o);
    const second = send(o);
    const third = send(o);
    second.cancel(new Error('timeout'));
    assert.equal((await second).error!.message, 'timeout');
    await new Promise<void>((resolve) => {
      const t = setInterval(() => hold && (clearInterval(t), resolve()), 5);
    });
    hold!.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
    assert.equal((await first).status, 200);
    assert.equal((await third).status, 200);
    assert.equal(srv.requests.length, 2, 'the cancelled request was never sent');

    const hang = await rawServer(() => undefined);
    const h = new Http1Origin(hang.origin, connect, 1);
    const stuck = send(h);
    await new Promise<void>((resolve) => {
      const t = setInterval(() => hang.requests.length > 0 && (clearInterval(t), resolve()), 5);
    });
    stuck.cancel(new Error('timeout'));
    assert.equal((await stuck).error!.message, 'timeout');
    // the connection is given up, the next request gets a new one
    assert.equal(hang.sockets.size <= 1, true);
    o.destroy(new Error('end'));
    h.destroy(new Error('end'));
  });

  test(`a header value with a line break is never sent (${how})`, async () => {
    const srv = await rawServer((s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
    const o = new Http1Origin(srv.origin, connect, 1);
    const a = await send(o, '{}', { 'x-evil': 'a\r\nx-injected: 1' });
    assert.match(a.error!.message, /line break/);
    assert.equal(srv.requests.length, 0);
    o.destroy(new Error('end'));
  });

}

test('an answer head: status, headers, whether the connection is kept, the hint, the framing', () => {
  const final = (text: string) => {
    const a = parseAnswerHead(text);
    assert.equal(a.kind, 'final', JSON.stringify(a));
    return a as Extract<typeof a, { kind: 'final' }>;
  };
  const ok = final('HTTP/1.1 200 OK\r\nContent-Length: 12\r\nSet-Cookie: a\r\nset-cookie: b\r\nKeep-Alive: timeout=5, max=100');
  assert.deepEqual([ok.status, ok.framing, ok.keep, ok.hintMs, ok.headers['set-cookie']], [200, 12, true, 5000, 'a, b']);
  // chunked wins over a content-length (RFC 9112 §6.3)
  assert.equal(final('HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: gzip, chunked').framing, 'chunked');
  assert.deepEqual([final('HTTP/1.1 304 Not Modified\r\ncontent-length: 10').framing], ['none']);
  const closeFramed = final('HTTP/1.1 200 OK\r\nX: y');
  assert.deepEqual([closeFramed.framing, closeFramed.keep], ['close', false]);
  assert.equal(final('HTTP/1.0 200 OK\r\ncontent-length: 0').keep, false);
  assert.equal(final('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\ncontent-length: 0').keep, true);
  assert.equal(final('HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 0').keep, false);
  // names in any case and with blanks around them, values trimmed of spaces and tabs; a line with no name or no colon is skipped
  const h = final('HTTP/1.1 200 OK\r\nCONTENT-TYPE:\t text/plain \r\n Date : today\r\nX-Custom-Thing: a\r\n: empty\r\nno colon\r\ncontent\rtype: x\r\ncontent-length: 0').headers;
  assert.deepEqual(h, { 'content-type': 'text/plain', date: 'today', 'x-custom-thing': 'a', 'content\rtype': 'x', 'content-length': '0' });
  assert.deepEqual(parseAnswerHead('HTTP/1.1 103 Early Hints\r\nLink: </a>'), { kind: 'interim' });
  assert.equal(parseAnswerHead('HTTP/1.1 101 Switching Protocols').kind, 'bad');
  assert.equal(parseAnswerHead('HTTP/1.1 200 OK\r\ncontent-length: -1').kind, 'bad');
  assert.equal(parseAnswerHead('HTTP/1.1 200 OK\r\ncontent-length: 1x').kind, 'bad');
  assert.equal(parseAnswerHead('HTTP/2 200').kind, 'bad');
});

// A self-signed certificate for 127.0.0.1 and localhost, made for this test only (100 years).
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgS456Lu5FwTDB8e8m
5Cu8n3Zb2KvWOaaqaXnXRJ6ZNZGhRANCAAS8YXxUYjiw+yZfomayzuBCrp/ja2nO
5IPNyAnro5HxXRlsrfWSh3ucX0S+GvXd2O6pspu1e0X9dfqlfBGDZb5S
-----END PRIVATE KEY-----`;
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBmjCCAUGgAwIBAgIUddvuRGrozB81eRjOS84YOw4nilIwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwMTAzMDYxNloYDzIxMjYxMTA3
MDMwNjE2WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAS8YXxUYjiw+yZfomayzuBCrp/ja2nO5IPNyAnro5HxXRlsrfWSh3uc
X0S+GvXd2O6pspu1e0X9dfqlfBGDZb5So28wbTAdBgNVHQ4EFgQUOLSaR4fBpjzb
d71CGvBnBZouCr0wHwYDVR0jBBgwFoAUOLSaR4fBpjzbd71CGvBnBZouCr0wDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDRwAwRAIgabRibs4z4P5oyvczvvcHTisif2z3dTODRHG5YiU+G58CIADE
hatSZ+1kZa69ZMrAJnF17fMQx7AKq/aZkilc3yjC
-----END CERTIFICATE-----`;

test('over TLS: the connector’s socket carries the same exchange, kept alive', async () => {
  const seen = new Set<unknown>();
  const server = createTlsServer({ key: TEST_KEY, cert: TEST_CERT }, (s) => {
    seen.add(s);
    eachRequest(s, () => s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const o = new Http1Origin(origin, buildConnector({ timeout: 2000, ca: TEST_CERT }), 4);
  try {
    for (let i = 0; i < 3; i++) assert.deepEqual(await send(o).then((a) => [a.status, a.body, a.error]), [200, 'ok', null]);
    assert.equal(seen.size, 1, 'one TLS connection for all three');
    // a certificate the connector does not trust: the attempt fails, nothing is sent
    const untrusting = new Http1Origin(origin, buildConnector({ timeout: 2000 }), 4);
    const a = await send(untrusting);
    assert.equal(a.status, null);
    assert.match(String(a.error?.message), /self.signed|certificate/i);
    untrusting.destroy(new Error('end'));
  } finally {
    o.destroy(new Error('end'));
    server.close();
  }
});

test('shared header lines go first, then the request’s own, for each path; shared lines that cannot be sent refuse the request', async () => {
  const srv = await rawServer((s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
  const o = new Http1Origin(srv.origin, connect, 4);
  // kept for many requests (the head's start cached) or for one
  const paths = ['/a', '/a', '/b?x=1'];
  for (const kept of [true, false]) {
    const shared: PreparedLines = { lines: 'user-agent: t\r\nx-shared: 1\r\n', bad: null, shared: kept };
    for (const path of paths) assert.equal((await send(o, 'é', { 'webhook-id': 'm' }, Infinity, shared, path)).status, 200);
  }
  const host = new URL(srv.origin).host;
  assert.deepEqual(srv.requests, [...paths, ...paths].map((p) =>
    `POST ${p} HTTP/1.1\r\nhost: ${host}\r\nuser-agent: t\r\nx-shared: 1\r\nwebhook-id: m\r\ncontent-length: 2\r\n\r\né`));
  const refused = await send(o, '{}', {}, Infinity, { lines: 'x-bad: a\r\n', bad: 'header x-bad holds a line break or NUL', shared: true });
  assert.match(refused.error!.message, /x-bad holds a line break/);
  assert.equal(srv.requests.length, 6);
  o.destroy(new Error('end'));
});
