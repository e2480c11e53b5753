/**
 * A lean HTTP/1.1 client for webhook requests: keep-alive connections per origin, one request
 * at a time on each, the head and the body written as one buffer, the answer
 * read for its status, headers and framing (http1-head.ts). Connections come from undici's
 * connector wrapped by the address guard: the guard, TLS and the connect timeout are as before.
 * Why not undici's Pool: the delivery thread is what a drain waits on, and undici's request
 * machinery cost ~2–5 µs of CPU a POST more (bench/client-cost.ts) — ~8 µs a delivery with its
 * garbage (bench/ab.ts, session 9). As undici: no redirects, 1xx skipped, a `Keep-Alive:
 * timeout=N` hint honoured (the connection dropped a second before), `Connection: close` and
 * close-framed answers end the connection. Added: a request written on a kept-alive connection
 * the server had closed (no byte of an answer back) goes once more on a new connection —
 * receivers drop repeats by webhook-id, and that race would otherwise fail an attempt for nothing.
 */
import type { Socket } from 'node:net';
import type { buildConnector } from 'undici';
import { Conn, IDLE_MS, Job, type ConnOwner, type Http1Handler, type Http1Job } from './http1-conn.ts';

export type { Http1Handler, Http1Job } from './http1-conn.ts';
export { PLAIN_READS } from './http1-conn.ts';
export type Connector = buildConnector.connector;

const BAD_VALUE = /[\r\n\0]/;

/** Why a header cannot be sent as it is (a line break or NUL would split the head), or null. */
export function headerProblem(name: string, value: string): string | null {
  return BAD_VALUE.test(value) ? `header ${name} holds a line break or NUL` : null;
}

const NOTHING = new Uint8Array(0);

/**
 * The request as one buffer, written once: the head as latin1 (its start, cached per target,
 * then the rest), the body as UTF-8 or as the bytes it came in. A socket write of the head and another of the body
 * under cork() took Node's writev path (an array of chunks and a write request for them): ~0.5–1
 * µs more a request of the sending thread, measured with 64 keep-alive sockets on one machine.
 */
function requestBytes(start: string, head: string, body: string | Uint8Array | null, bodyBytes: number): Buffer {
  const at = start.length + head.length;
  const b = Buffer.allocUnsafe(at + bodyBytes);
  b.write(start, 0, 'latin1');
  b.write(head, start.length, 'latin1');
  if (typeof body === 'string') b.write(body, at, 'utf8');
  else if (body !== null) b.set(body, at);
  return b;
}

/** Header lines rendered ahead (headers.ts SharedHeaders): CRLF-ended, `bad` saying why they cannot be sent. */
export interface PreparedLines {
  readonly lines: string;
  readonly bad: string | null;
  /** sent with many requests: the head's start is kept for them (else made per request) */
  readonly shared: boolean;
}

/** The connections to one origin (scheme, host, port) through one connector. */
export class Http1Origin implements ConnOwner {
  readonly #url: URL;
  readonly #connect: Connector;
  readonly #max: number;
  readonly #hostHeader: string;
  readonly #idle: Conn[] = [];
  readonly #all = new Set<Conn>();
  #connecting = 0;
  #waiting: Job[] = [];
  #closed = false;
  readonly #starts = new WeakMap<PreparedLines, { method: string; path: string; text: string }>();

  constructor(origin: string, connect: Connector, maxConnections: number) {
    this.#url = new URL(origin);
    this.#connect = connect;
    this.#max = maxConnections;
    this.#hostHeader = this.#url.host;
  }

  /**
   * Sends one request: `shared` header lines rendered once for many requests (headers.ts), then
   * `headers`. Neither may hold host, content-length, transfer-encoding or connection (Hookline
   * sets those; targets cannot: targets/endpoints.ts).
   */
  request(method: string, path: string, shared: PreparedLines | null, headers: Record<string, string>, body: string | Uint8Array | null, handler: Http1Handler): Http1Job {
    const start = shared === null ? this.#start(method, path) : this.#startWith(method, path, shared);
    let bad = shared?.bad ?? null;
    // the rest of the head apart from its start: written after it, so that no copy of the whole head is made per request
    let head = '';
    for (const k in headers) {
      const v = headers[k]!;
      bad ??= headerProblem(k, v);
      head += `${k}: ${v}\r\n`;
    }
    if (bad !== null) {
      const job = new Job(this, NOTHING, handler);
      job.done = true;
      queueMicrotask(() => handler.onError(new Error(bad)));
      return job;
    }
    const bodyBytes = body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    if (body !== null) head += `content-length: ${bodyBytes}\r\n`;
    else if (method !== 'GET' && method !== 'HEAD') head += 'content-length: 0\r\n';
    const job = new Job(this, requestBytes(start, `${head}\r\n`, body, bodyBytes), handler);
    if (this.#closed) {
      job.done = true;
      queueMicrotask(() => handler.onError(new Error('the sender is closed')));
      return job;
    }
    const now = performance.now();
    for (let c = this.#idle.pop(); c !== undefined; c = this.#idle.pop()) {
      if (c.expires > now) {
        c.run(job, true);
        return job;
      }
      this.#drop(c);
    }
    if (this.#all.size + this.#connecting < this.#max) this.connect(job);
    else this.#waiting.push(job);
    return job;
  }

  #start(method: string, path: string): string {
    return `${method} ${path} HTTP/1.1\r\nhost: ${this.#hostHeader}\r\n`;
  }

  /**
   * The request line, host and shared lines as one flat string, made once per shared lines for
   * the last method and path (nearly always the one: a target's request head): a head made by
   * concatenation per request was ~1.2 KB of the delivery thread's allocations a delivery.
   */
  #startWith(method: string, path: string, shared: PreparedLines): string {
    if (!shared.shared) return this.#start(method, path) + shared.lines;
    const hit = this.#starts.get(shared);
    if (hit !== undefined && hit.method === method && hit.path === path) return hit.text;
    // a rope until its first write flattens it, in place: every later write finds it flat
    const text = this.#start(method, path) + shared.lines;
    this.#starts.set(shared, { method, path, text });
    return text;
  }

  /** A new connection for `job` (also a request sent again after a stale connection). */
  connect(job: Job): void {
    this.#connecting++;
    const u = this.#url;
    const hostname = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    this.#connect({ hostname, host: u.host, protocol: u.protocol, port: u.port }, (err: Error | null, socket: Socket | null) => {
      this.#connecting--;
      if (err || !socket) {
        // (a request cancelled while it waited for this connection has had its answer)
        if (!job.done) {
          job.done = true;
          job.handler.onError(err ?? new Error('no connection'));
        }
        this.#next();
        return;
      }
      const c = new Conn(this, socket);
      this.#all.add(c);
      if (job.done || this.#closed) {
        // cancelled while connecting (job.done), or the sender closed: the connection waits or goes
        if (this.#closed) this.#drop(c);
        else this.release(c);
        return;
      }
      c.run(job, false);
    });
  }

  /** A connection free again: the next waiting request, or the idle list. */
  release(c: Conn): void {
    if (this.#closed) return this.#drop(c);
    const next = this.#waiting.shift();
    if (next) return c.run(next, true);
    c.socket.unref();
    if (c.expires === 0) c.expires = performance.now() + IDLE_MS;
    this.#idle.push(c);
  }

  /** A connection that is gone (closed, failed): a waiting request gets a new one. */
  dropped(c: Conn): void {
    if (!this.#all.delete(c)) return;
    const i = this.#idle.indexOf(c);
    if (i >= 0) this.#idle.splice(i, 1);
    this.#next();
  }

  #next(): void {
    if (this.#closed) return;
    const job = this.#waiting.shift();
    if (job) this.connect(job);
  }

  #drop(c: Conn): void {
    this.dropped(c);
    c.socket.destroy();
  }

  unqueue(job: Job, err: Error): void {
    const i = this.#waiting.indexOf(job);
    if (i >= 0) this.#waiting.splice(i, 1);
    if (job.done) return;
    job.done = true;
    job.handler.onError(err);
  }

  /** Drops idle connections past their time (called now and then, not per request). */
  sweepIdle(now: number): void {
    for (let i = this.#idle.length - 1; i >= 0; i--) if (this.#idle[i]!.expires <= now) this.#drop(this.#idle[i]!);
  }

  /** Takes no more requests; idle connections closed now, busy ones when their answer is in. */
  close(): void {
    this.#closed = true;
    for (const c of [...this.#idle]) this.#drop(c);
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const j of waiting) this.unqueue(j, new Error('the sender is closed'));
  }

  /** Cuts everything (shutdown): requests under way end with `err`. */
  destroy(err: Error): void {
    this.close();
    for (const c of [...this.#all]) c.fail(err);
  }
}
