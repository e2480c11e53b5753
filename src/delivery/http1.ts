/**
 * A lean HTTP/1.1 client for webhook requests: keep-alive connections per origin, one request
 * at a time on each (no pipelining), the request head written as one string with its body in
 * one writev, the answer parsed for its status, headers and body framing (content-length,
 * chunked, or until close). Connections come from undici's connector (`buildConnector`, wrapped
 * by the address guard), so the guard, TLS and the connect timeout are undici's as before.
 *
 * Why not undici's Pool: the delivery thread is what a drain waits on, and undici's request
 * machinery (a Request object, header validation by regex, the llhttp parser's calls across
 * the wasm boundary, its queues and kick-offs) cost ~5 µs of CPU a POST more than this path
 * (bench/client-cost.ts, alternating rounds). Hookline needs only POSTs of known bodies, a
 * status, headers and 4 KiB of the answer.
 *
 * What it does as undici did: no redirects (a 3xx is an answer), 1xx answers skipped, the
 * server's `Keep-Alive: timeout=N` hint honoured (the connection dropped a second before), a
 * `Connection: close` or an answer framed by the close ends the connection. What it adds: a
 * request written on a kept-alive connection that the server had already closed (no byte of
 * an answer came back) is sent once more on a new connection — webhook receivers drop repeats
 * by webhook-id, and that race otherwise fails an attempt for nothing.
 */
import type { Socket } from 'node:net';
import type { buildConnector } from 'undici';

export interface Http1Handler {
  /** the answer's status and headers (names lower-cased, repeats joined by ", ") */
  onHead(status: number, headers: Record<string, string>): void;
  /** a piece of the body; false: enough is read (the connection is given up, onComplete follows) */
  onData(chunk: Buffer): boolean;
  onComplete(): void;
  onError(err: Error): void;
}

export type Connector = buildConnector.connector;

/** One request: made by `Http1Origin.request`, `cancel` ends it (the handler's onError follows). */
export interface Http1Job {
  cancel(err: Error): void;
}

// An answer's head larger than this is refused (undici's default max header size is 16 KiB).
const MAX_HEAD = 64 * 1024;
// Without a Keep-Alive hint from the server, an idle connection is dropped after 4 s (undici's
// default); with one, a second before the server's own timeout.
const IDLE_MS = 4_000;
const HINT_MARGIN_MS = 1_000;
const CRLF2 = Buffer.from('\r\n\r\n');
const BAD_VALUE = /[\r\n\0]/;

export class SocketClosedError extends Error {
  readonly code = 'SOCKET_CLOSED';
  constructor(message = 'the target closed the connection before it answered') {
    super(message);
  }
}

class Job implements Http1Job {
  readonly head: string;
  readonly body: string | Uint8Array | null;
  readonly handler: Http1Handler;
  readonly origin: Http1Origin;
  conn: Conn | null = null;
  done = false;
  retried = false;

  constructor(origin: Http1Origin, head: string, body: string | Uint8Array | null, handler: Http1Handler) {
    this.origin = origin;
    this.head = head;
    this.body = body;
    this.handler = handler;
  }

  cancel(err: Error): void {
    if (this.done) return;
    if (this.conn) this.conn.fail(err);
    else this.origin.unqueue(this, err);
  }
}

// Where a connection is in the answer it reads.
const S = { head: 0, length: 1, chunkSize: 2, chunkData: 3, chunkEnd: 4, trailers: 5, untilClose: 6 } as const;

/** One connection: at most one request on it at a time. */
class Conn {
  readonly socket: Socket;
  readonly #origin: Http1Origin;
  job: Job | null = null;
  /** performance.now() after which an idle connection is not used again */
  expires = 0;
  #reused = false;
  #gotBytes = false;
  #keep = true;
  #idleMs = IDLE_MS;
  #state: number = S.head;
  #buf: Buffer | null = null;
  #left = 0;

  constructor(origin: Http1Origin, socket: Socket) {
    this.#origin = origin;
    this.socket = socket;
    socket.on('data', (b: Buffer) => this.#onData(b));
    socket.on('error', (err: Error) => this.#lost(err));
    socket.on('end', () => this.#onEnd());
    socket.on('close', () => this.#lost(new SocketClosedError()));
  }

  run(job: Job, reused: boolean): void {
    this.job = job;
    job.conn = this;
    this.#reused = reused;
    this.#gotBytes = false;
    this.#keep = true;
    this.#state = S.head;
    this.#buf = null;
    if (reused) this.socket.ref();
    const s = this.socket;
    s.cork();
    s.write(job.head, 'latin1');
    if (job.body !== null) {
      if (typeof job.body === 'string') s.write(job.body, 'utf8');
      else s.write(job.body);
    }
    s.uncork();
  }

  /** Ends the request under way (cancelled, or cut short) and gives up the connection. */
  fail(err: Error): void {
    const job = this.job;
    this.job = null;
    this.socket.destroy();
    if (job && !job.done) {
      job.done = true;
      job.handler.onError(err);
    }
  }

  #lost(err: Error): void {
    this.#origin.dropped(this);
    const job = this.job;
    if (!job || job.done) return;
    this.job = null;
    job.conn = null;
    // Written on a kept-alive connection the server had closed: once more, on a new one.
    if (this.#reused && !this.#gotBytes && !job.retried) {
      job.retried = true;
      this.#origin.connect(job);
      return;
    }
    job.done = true;
    job.handler.onError(err);
  }

  #onEnd(): void {
    if (this.job && this.#state === S.untilClose) return this.#complete();
    this.#lost(new SocketClosedError(this.#gotBytes ? 'the target closed the connection in the middle of its answer' : undefined));
  }

  #onData(chunk: Buffer): void {
    const job = this.job;
    if (!job) {
      // Bytes nobody asked for: the connection is out of step, and not used again.
      this.socket.destroy();
      return;
    }
    this.#gotBytes = true;
    let b = this.#buf === null ? chunk : Buffer.concat([this.#buf, chunk]);
    this.#buf = null;
    while (this.job === job && b.length > 0) {
      const used = this.#step(job, b);
      if (used < 0) {
        // wants more bytes than there are: keep what is left for the next chunk
        this.#buf = b;
        return;
      }
      b = b.subarray(used);
    }
  }

  /** Consumes the start of `b`: answers how many bytes, or -1 when it needs more. */
  #step(job: Job, b: Buffer): number {
    switch (this.#state) {
      case S.head: {
        const end = b.indexOf(CRLF2);
        if (end < 0 && b.length <= MAX_HEAD) return -1;
        if (end < 0 || end > MAX_HEAD) {
          this.fail(new Error('the answer\'s head is too large'));
          return b.length;
        }
        this.#head(job, b.toString('utf8', 0, end));
        return end + 4;
      }
      case S.length: {
        const n = Math.min(this.#left, b.length);
        this.#left -= n;
        if (!this.#body(job, n === b.length ? b : b.subarray(0, n))) return b.length;
        if (this.#left === 0) {
          // more bytes than the answer said: not a connection to use again
          if (n < b.length) this.#keep = false;
          this.#complete();
          return b.length;
        }
        return n;
      }
      case S.chunkSize:
      case S.chunkEnd:
      case S.trailers: {
        const eol = b.indexOf('\r\n');
        if (eol < 0) {
          if (b.length <= MAX_HEAD) return -1;
          this.fail(new Error('a chunk line is too long'));
          return b.length;
        }
        const line = b.toString('latin1', 0, eol);
        if (this.#state === S.chunkEnd) {
          if (line !== '') {
            this.fail(new Error('a chunk did not end with CRLF'));
            return b.length;
          }
          this.#state = S.chunkSize;
        } else if (this.#state === S.trailers) {
          if (line === '') {
            if (eol + 2 < b.length) this.#keep = false;
            this.#complete();
          }
        } else {
          const semi = line.indexOf(';');
          const size = parseInt(semi < 0 ? line : line.slice(0, semi), 16);
          if (!Number.isFinite(size) || size < 0) {
            this.fail(new Error('a chunk size is not a number'));
            return b.length;
          }
          this.#left = size;
          this.#state = size === 0 ? S.trailers : S.chunkData;
        }
        return eol + 2;
      }
      case S.chunkData: {
        const n = Math.min(this.#left, b.length);
        this.#left -= n;
        if (!this.#body(job, n === b.length ? b : b.subarray(0, n))) return b.length;
        if (this.#left === 0) this.#state = S.chunkEnd;
        return n;
      }
      default: // untilClose
        this.#body(job, b);
        return b.length;
    }
  }

  #head(job: Job, text: string): void {
    // "HTTP/1.1 200 OK"
    const status = text.charCodeAt(8) === 32 ? Number(text.slice(9, 12)) : NaN;
    if (!text.startsWith('HTTP/1.') || !(status >= 100 && status <= 999)) {
      this.fail(new Error(`the answer is not HTTP/1.x: ${JSON.stringify(text.slice(0, 40))}`));
      return;
    }
    // 1xx (100 Continue, 103 Early Hints): an interim answer, the real one follows
    if (status < 200) {
      if (status === 101) this.fail(new Error('the target switched protocols'));
      return;
    }
    const h: Record<string, string> = {};
    let from = text.indexOf('\r\n');
    while (from >= 0) {
      const next = text.indexOf('\r\n', from + 2);
      const line = next < 0 ? text.slice(from + 2) : text.slice(from + 2, next);
      from = next;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const k = line.slice(0, colon).trim().toLowerCase();
      const v = line.slice(colon + 1).trim();
      const had = h[k];
      h[k] = had === undefined ? v : `${had}, ${v}`;
    }
    const http10 = text.charCodeAt(7) === 48; // HTTP/1.0
    const connection = h.connection?.toLowerCase() ?? '';
    this.#keep = http10 ? connection.includes('keep-alive') : !connection.includes('close');
    const hint = h['keep-alive'];
    if (hint !== undefined) {
      const m = /timeout=(\d+)/i.exec(hint);
      if (m) this.#idleMs = Math.max(0, Number(m[1]) * 1000 - HINT_MARGIN_MS);
    }
    job.handler.onHead(status, h);
    if (this.job !== job) return;
    const te = h['transfer-encoding'];
    if (status === 204 || status === 304) {
      this.#complete();
    } else if (te !== undefined && te.toLowerCase().includes('chunked')) {
      this.#state = S.chunkSize;
    } else if (h['content-length'] !== undefined) {
      const n = Number(h['content-length']);
      if (!Number.isSafeInteger(n) || n < 0) return this.fail(new Error('the answer\'s content-length is not a number'));
      this.#left = n;
      this.#state = S.length;
      if (n === 0) this.#complete();
    } else {
      this.#keep = false;
      this.#state = S.untilClose;
    }
  }

  /** Hands a piece of the body on; false when the handler has read enough (connection given up). */
  #body(job: Job, piece: Buffer): boolean {
    if (piece.length === 0 || job.handler.onData(piece)) return true;
    this.job = null;
    this.socket.destroy();
    job.done = true;
    job.handler.onComplete();
    return false;
  }

  #complete(): void {
    const job = this.job!;
    this.job = null;
    job.conn = null;
    job.done = true;
    if (this.#keep && this.#idleMs > 0) {
      this.expires = performance.now() + this.#idleMs;
      this.#origin.release(this);
    } else {
      this.#origin.dropped(this);
      this.socket.destroy();
    }
    job.handler.onComplete();
  }
}

/** The connections to one origin (scheme, host, port) through one connector. */
export class Http1Origin {
  readonly #url: URL;
  readonly #connect: Connector;
  readonly #max: number;
  readonly #hostHeader: string;
  readonly #idle: Conn[] = [];
  readonly #all = new Set<Conn>();
  #connecting = 0;
  #waiting: Job[] = [];
  #closed = false;

  constructor(origin: string, connect: Connector, maxConnections: number) {
    this.#url = new URL(origin);
    this.#connect = connect;
    this.#max = maxConnections;
    this.#hostHeader = this.#url.host;
  }

  /**
   * Sends one request. `headers` must not hold host, content-length, transfer-encoding or
   * connection (Hookline sets those; targets cannot: targets/endpoints.ts).
   */
  request(method: string, path: string, headers: Record<string, string>, body: string | Uint8Array | null, handler: Http1Handler): Http1Job {
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.#hostHeader}\r\n`;
    for (const k in headers) {
      const v = headers[k]!;
      if (BAD_VALUE.test(v)) {
        const job = new Job(this, '', null, handler);
        job.done = true;
        queueMicrotask(() => handler.onError(new Error(`header ${k} holds a line break or NUL`)));
        return job;
      }
      head += `${k}: ${v}\r\n`;
    }
    if (body !== null) head += `content-length: ${typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength}\r\n`;
    else if (method !== 'GET' && method !== 'HEAD') head += 'content-length: 0\r\n';
    const job = new Job(this, `${head}\r\n`, body, handler);
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

  /** A new connection for `job` (also a request sent again after a stale connection). */
  connect(job: Job): void {
    this.#connecting++;
    const u = this.#url;
    const hostname = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    this.#connect({ hostname, host: u.host, protocol: u.protocol, port: u.port }, (err: Error | null, socket: Socket | null) => {
      this.#connecting--;
      if (err || !socket) {
        job.done = true;
        job.handler.onError(err ?? new Error('no connection'));
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

  get busy(): boolean {
    return this.#all.size > this.#idle.length || this.#connecting > 0 || this.#waiting.length > 0;
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
