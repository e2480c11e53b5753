/**
 * `node bench/read-cost.ts [--requests N] [--rounds N]`: the CPU the sending process spends per
 * request reading answers as a stream (a 'data' listener: a Buffer and an ArrayBuffer per read,
 * Node's Readable machinery) against reading them into one reused buffer (`onread`, as the
 * delivery client's plain sockets do: src/delivery/http1-conn.ts PLAIN_READS). 64 keep-alive
 * sockets POST 1 KB to a Node HTTP server in another process; alternating rounds; µs of CPU per
 * request of this process. Session 15: 21.4–22.7 as streams, 19.5–19.8 into one buffer.
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { requests: { type: 'string' }, rounds: { type: 'string' }, serve: { type: 'boolean' } } });
if (values.serve) {
  const s = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok'));
  });
  s.keepAliveTimeout = 60_000;
  s.listen(0, '127.0.0.1', () => process.send!((s.address() as net.AddressInfo).port));
} else {
  const N = Number(values.requests ?? 100_000);
  const ROUNDS = Number(values.rounds ?? 3);
  const child = fork(import.meta.filename, ['--serve']);
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
  const body = Buffer.from('x'.repeat(1000));
  const request = Buffer.concat([Buffer.from(`POST /hook HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`), body]);
  const shared = Buffer.allocUnsafe(64 * 1024);

  const run = (how: 'stream' | 'onread'): Promise<number> => new Promise((resolve) => {
    let left = N;
    let inFlight = 0;
    const sockets: net.Socket[] = [];
    const t0 = process.cpuUsage();
    // the answers are tiny: one read holds a whole one
    const answered = (s: net.Socket): void => {
      inFlight--;
      if (left > 0) {
        left--;
        inFlight++;
        s.write(request);
      } else if (inFlight === 0) {
        const u = process.cpuUsage(t0);
        for (const x of sockets) x.destroy();
        resolve((u.user + u.system) / N);
      }
    };
    for (let i = 0; i < 64; i++) {
      const s: net.Socket = how === 'stream'
        ? net.connect({ port, host: '127.0.0.1' })
        : net.connect({ port, host: '127.0.0.1', onread: { buffer: shared, callback: () => (answered(s), true) } });
      if (how === 'stream') s.on('data', () => answered(s));
      s.setNoDelay(true);
      sockets.push(s);
      s.once('connect', () => {
        left--;
        inFlight++;
        s.write(request);
      });
    }
  });

  for (let r = 0; r < ROUNDS; r++) {
    for (const how of ['stream', 'onread'] as const) console.log(`${how.padEnd(6)} ${(await run(how)).toFixed(2)} µs of CPU a request`);
  }
  child.kill();
}
