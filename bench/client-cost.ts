/**
 * `node bench/client-cost.ts [--requests N] [--rounds N]`: the CPU one POST costs the sending
 * process through undici's dispatch API (an Agent; a Pool, as the sender used until session 9;
 * a Pool given flat headers), through Hookline's own client (`src/delivery/http1.ts`, what
 * `src/delivery/sender.ts` uses) and through a minimal HTTP/1.1 client on 64 keep-alive sockets (the
 * request head written as one string, the answer parsed for its status line and content-length
 * only), against the same local server, with a delivery's body (~1 KB) and headers. Alternating
 * rounds; µs of CPU per request of this process.
 *
 * Why: the delivery thread spends ~45–50 µs a delivery, and undici's share of it was the
 * largest single lever left (docs/performance-history.md, session 8). The minimal client is a measuring stick, not
 * a sender: it knows no chunked answers, TLS, timeouts or errors.
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { Agent, buildConnector, Pool, type Dispatcher } from 'undici';
import { Http1Origin } from '../src/delivery/http1.ts';

const { values } = parseArgs({ options: { requests: { type: 'string' }, rounds: { type: 'string' }, serve: { type: 'boolean' } } });
if (values.serve) {
  const s = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-length': '0' }).end());
  });
  s.keepAliveTimeout = 60_000;
  s.listen(0, '127.0.0.1', () => process.send!((s.address() as net.AddressInfo).port));
} else {
  const child = fork(import.meta.filename, ['--serve']);
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
  const N = Number(values.requests ?? 60_000);
  const IN_FLIGHT = 64;
  const body = Buffer.from(JSON.stringify({ type: 'leg.answered', timestamp: new Date(0).toISOString(), data: { pad: 'x'.repeat(900) } }));
  const headers: Record<string, string> = {
    'user-agent': 'Hookline/0.1 (+webhooks)', 'content-type': 'application/json', 'webhook-id': 'msg_01jabcdefghijklmnopqrstuvwx',
    'hookline-seq': '3', 'hookline-attempt': '1', 'webhook-timestamp': '1732999999', 'webhook-signature': 'v1,' + 'a'.repeat(44),
  };

  /**
   * N requests, IN_FLIGHT at a time: `send(done)` starts one and calls `done(status)` when it
   * ends (0 for an error). Answers how many were not a 200.
   */
  const drive = (send: (done: (status: number) => void) => void): Promise<number> => new Promise((resolve) => {
    let done = 0;
    let started = 0;
    let bad = 0;
    const next = (): void => {
      if (started >= N) return;
      started++;
      send((status) => {
        if (status !== 200) bad++;
        if (++done === N) resolve(bad);
        else next();
      });
    };
    for (let i = 0; i < IN_FLIGHT; i++) next();
  });

  // undici three ways: an Agent (routes each request to its pool per origin), a Pool of our own
  // (the sender until session 8), and a Pool given the headers as a flat array
  const flat = Object.entries(headers).flat();
  const viaUndici = async (kind: 'agent' | 'pool' | 'pool-flat'): Promise<number> => {
    const agent: Dispatcher = kind === 'agent'
      ? new Agent({ connections: 128, keepAliveTimeout: 10_000 })
      : new Pool(`http://127.0.0.1:${port}`, { connections: 128, keepAliveTimeout: 10_000 });
    const bad = await drive((done) => {
      let status = 0;
      agent.dispatch({ origin: `http://127.0.0.1:${port}`, path: '/hook', method: 'POST', headers: kind === 'pool-flat' ? flat : headers, body }, {
        onConnect() {},
        onHeaders(s) {
          status = s;
          return true;
        },
        onData: () => true,
        onComplete: () => done(status),
        onError: () => done(0),
      });
    });
    await agent.close();
    return bad;
  };

  // Hookline's own client (src/delivery/http1.ts), as the sender uses it
  const viaHttp1 = async (): Promise<number> => {
    const origin = new Http1Origin(`http://127.0.0.1:${port}`, buildConnector({ timeout: 5000 }), 128);
    const bad = await drive((done) => {
      let status = 0;
      origin.request('POST', '/hook', null, headers, body, {
        onHead(s) {
          status = s;
        },
        onData: () => true,
        onComplete: () => done(status),
        onError: () => done(0),
      });
    });
    origin.destroy(new Error('done'));
    return bad;
  };

  const minimal = async (): Promise<number> => {
    let done = 0;
    let started = 0;
    let bad = 0;
    let fixed = `POST /hook HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: keep-alive\r\n`;
    for (const k in headers) fixed += `${k}: ${headers[k]}\r\n`;
    const head = `${fixed}content-length: ${body.length}\r\n\r\n`;
    const sockets: net.Socket[] = [];
    await new Promise<void>((resolve) => {
      for (let i = 0; i < IN_FLIGHT; i++) {
        const sock = net.connect(port, '127.0.0.1');
        sockets.push(sock);
        sock.setNoDelay(true);
        let buf: Buffer | null = null;
        const send = (): void => {
          if (started >= N) return;
          started++;
          sock.cork();
          sock.write(head, 'latin1');
          sock.write(body);
          sock.uncork();
        };
        sock.on('connect', send);
        sock.on('data', (chunk: Buffer) => {
          buf = buf ? Buffer.concat([buf, chunk]) : chunk;
          for (;;) {
            const end: number = buf.indexOf('\r\n\r\n');
            if (end < 0) return;
            const text = buf.toString('latin1', 0, end);
            const m = /\r\ncontent-length: *(\d+)/i.exec(text);
            const total: number = end + 4 + (m ? Number(m[1]) : 0);
            if (buf.length < total) return;
            if (text.slice(9, 12) !== '200') bad++;
            buf = buf.length === total ? null : buf.subarray(total);
            if (++done === N) resolve();
            else send();
            if (buf === null) return;
          }
        });
      }
    });
    for (const s of sockets) s.destroy();
    return bad;
  };

  const rounds = Number(values.rounds ?? 4);
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of [['undici Agent', () => viaUndici('agent')], ['undici Pool', () => viaUndici('pool')], ['Pool, flat headers', () => viaUndici('pool-flat')], ['Hookline http1.ts', viaHttp1], ['minimal client', minimal]] as const) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const bad = await run();
      const c = process.cpuUsage(c0);
      console.log(`${name.padEnd(18)} ${((c.user + c.system) / N).toFixed(1)} µs CPU a request, ${Math.round(N / ((performance.now() - t0) / 1000))} req/s${bad ? `, ${bad} bad` : ''}`);
    }
  }
  child.kill();
}
