/**
 * One connection of the delivery client (http1.ts) and the request it carries: writes the
 * request, reads the answer (head by http1-head.ts; body by content-length, chunked, or until
 * close), and tells its origin when it is free again or gone.
 */
import type { Socket, TcpNetConnectOpts } from 'node:net';
import { parseAnswerHead } from './http1-head.ts';

export interface Http1Handler {
  /** the answer's status and headers (names lower-cased, repeats joined by ", ") */
  onHead(status: number, headers: Record<string, string>): void;
  /**
   * A piece of the body, valid only during the call (it may be a view of a buffer the next read
   * reuses: copy what is kept); false: enough is read (the connection is given up, onComplete follows).
   */
  onData(chunk: Buffer): boolean;
  onComplete(): void;
  onError(err: Error): void;
}

/** One request: made by `Http1Origin.request`, `cancel` ends it (the handler's onError follows). */
export interface Http1Job {
  cancel(err: Error): void;
}

// An answer's head larger than this is refused (undici's default max header size is 16 KiB).
const MAX_HEAD = 64 * 1024;
// Without a Keep-Alive hint from the server, an idle connection is dropped after 4 s (undici's
// default); with one, a second before the server's own timeout.
export const IDLE_MS = 4_000;
const HINT_MARGIN_MS = 1_000;
const CRLF2 = Buffer.from('\r\n\r\n');

/** What a connection tells the origin it belongs to (http1.ts Http1Origin). */
export interface ConnOwner {
  /** free again: the next request, or the idle list */
  release(c: Conn): void;
  /** gone (closed, failed) */
  dropped(c: Conn): void;
  /** a new connection for a request (sent again after a stale connection) */
  connect(job: Job): void;
  /** a request cancelled before it had a connection */
  unqueue(job: Job, err: Error): void;
}

export class SocketClosedError extends Error {
  readonly code = 'SOCKET_CLOSED';
  constructor(message = 'the target closed the connection before it answered') {
    super(message);
  }
}

export class Job implements Http1Job {
  /** the whole request, head and body: one write */
  readonly bytes: Uint8Array;
  readonly handler: Http1Handler;
  readonly origin: ConnOwner;
  conn: Conn | null = null;
  done = false;
  retried = false;

  constructor(origin: ConnOwner, bytes: Uint8Array, handler: Http1Handler) {
    this.origin = origin;
    this.bytes = bytes;
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

/**
 * Plain (http:) sockets read into one buffer through `onread` (address-guard.ts GuardOptions)
 * rather than as streams: no Buffer and ArrayBuffer per read, no Readable machinery per answer
 * (`bench/read-cost.ts`: 64 keep-alive sockets to a Node HTTP server in another process,
 * 100,000 POSTs of 1 KB, three alternating rounds: 19.5–19.8 against 21.4–22.7 µs of the
 * sending process's CPU a request). What a read leaves for
 * later (a partial head) is copied; handlers copy what they keep (Http1Handler.onData). TLS
 * sockets still read as streams, into the same code.
 */
const conns = new WeakMap<Socket, Conn>();
export const PLAIN_READS: NonNullable<TcpNetConnectOpts['onread']> = {
  buffer: Buffer.allocUnsafe(64 * 1024),
  callback(this: Socket, n: number, buf: Uint8Array): boolean {
    conns.get(this)?.read(Buffer.from(buf.buffer, buf.byteOffset, n), true);
    return true;
  },
};

/** One connection: at most one request on it at a time. */
export class Conn {
  readonly socket: Socket;
  readonly #origin: ConnOwner;
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

  constructor(origin: ConnOwner, socket: Socket) {
    this.#origin = origin;
    this.socket = socket;
    // one or the other: a plain socket made with PLAIN_READS calls `read` and emits no 'data'
    conns.set(socket, this);
    socket.on('data', (b: Buffer) => this.read(b, false));
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
    this.socket.write(job.bytes);
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

  /** Bytes read; `reused`: a view of the shared read buffer (PLAIN_READS), valid only during the call. */
  read(chunk: Buffer, reused: boolean): void {
    const job = this.job;
    if (!job) {
      // Bytes nobody asked for: the connection is out of step, and not used again.
      this.socket.destroy();
      return;
    }
    this.#gotBytes = true;
    let b = this.#buf === null ? chunk : Buffer.concat([this.#buf, chunk]);
    const view = reused && this.#buf === null;
    this.#buf = null;
    while (this.job === job && b.length > 0) {
      const used = this.#step(job, b);
      if (used < 0) {
        // wants more bytes than there are: keep what is left for the next chunk
        this.#buf = view ? Buffer.from(b) : b;
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
    const a = parseAnswerHead(text);
    if (a.kind === 'interim') return;
    if (a.kind === 'bad') return this.fail(new Error(a.error));
    this.#keep = a.keep;
    if (a.hintMs !== null) this.#idleMs = Math.max(0, a.hintMs - HINT_MARGIN_MS);
    job.handler.onHead(a.status, a.headers);
    if (this.job !== job) return;
    if (a.framing === 'none' || a.framing === 0) this.#complete();
    else if (a.framing === 'chunked') this.#state = S.chunkSize;
    else if (a.framing === 'close') this.#state = S.untilClose;
    else {
      this.#left = a.framing;
      this.#state = S.length;
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
