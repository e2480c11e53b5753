import type { SendRequest } from '../store/contract.ts';
import type { TcpNetConnectOpts } from 'node:net';
import { Http1Origin, PLAIN_READS, type Connector, type Http1Handler, type Http1Job, type PreparedLines } from './http1.ts';

/** A request to send: `shared` header lines rendered ahead (headers.ts), sent before `headers`. */
export interface OutRequest extends SendRequest {
  shared?: PreparedLines;
}

/** The result of one HTTP attempt, whatever happened. */
export interface SendResult {
  status_code: number | null;
  headers: Record<string, string> | null;
  excerpt: string | null;
  error: string | null;
  /** the address guard refused the resolved IP: retrying cannot help */
  refused: boolean;
  duration_ms: number;
}

/** SPEC §6: the log keeps a response excerpt of at most 4 KiB. */
export const EXCERPT_BYTES = 4096;

/** A connector per connect timeout; `plain`: options for plain (http:) sockets only (PLAIN_READS). */
export type ConnectFactory = (connectTimeoutMs: number, plain: Pick<TcpNetConnectOpts, 'onread'>) => Connector;

export interface SenderOptions {
  connect: ConnectFactory;
  /** tells a refusal by the address guard from other connection errors */
  isRefused: (err: unknown) => boolean;
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.cause?.code ?? e?.code;
  const msg = e?.cause?.message ?? e?.message ?? String(err);
  return code ? `${code}: ${msg}` : msg;
}

/**
 * Sends webhook requests: keep-alive connections per origin (http1.ts), timeouts, no redirects
 * (a 3xx is an answer, not an instruction), and the address guard in the connector. One set of
 * connections per origin and connect timeout (the connector fixes the timeout; targets nearly
 * all share the default).
 */
// In-flight requests past their deadline are cut by one sweep every 50 ms, rather than by a
// timer and a composite abort signal per request (AbortSignal.timeout + AbortSignal.any cost
// ~4 % of Hookline's CPU at full speed): 50 ms late at most.
const SWEEP_MS = 50;
// Parsed URLs of recent targets: most requests go to a few URLs again and again.
const MAX_PARSED_URLS = 1000;
// Origins kept at most per connect timeout: past this the oldest is closed (it finishes the
// requests it has under way, their handlers answer them, and takes no more).
const MAX_POOLS = 1000;
// Up to 128 connections per origin: per-target concurrency limits are enforced above this.
const MAX_CONNECTIONS = 128;
// Idle connections past their keep-alive time are closed by a sweep this often.
const IDLE_SWEEP_MS = 2_000;

export class Sender {
  /** per connect timeout: its connector (the address guard's), and the connections per origin */
  readonly #pools = new Map<number, { connect: Connector; byOrigin: Map<string, Http1Origin> }>();
  readonly #opts: SenderOptions;
  readonly #inFlight = new Set<Attempt>();
  readonly #urls = new Map<string, { origin: string; path: string }>();
  #sweeper: NodeJS.Timeout | undefined;
  #idleSweeper: NodeJS.Timeout | undefined;

  constructor(opts: SenderOptions) {
    this.#opts = opts;
  }

  #pool(origin: string, connectTimeoutMs: number): Http1Origin {
    let t = this.#pools.get(connectTimeoutMs);
    if (!t) this.#pools.set(connectTimeoutMs, (t = { connect: this.#opts.connect(connectTimeoutMs, { onread: PLAIN_READS }), byOrigin: new Map() }));
    let p = t.byOrigin.get(origin);
    if (!p) {
      if (t.byOrigin.size >= MAX_POOLS) {
        const [oldest, pool] = t.byOrigin.entries().next().value!;
        t.byOrigin.delete(oldest);
        // Its requests under way answer through their own handlers.
        pool.close();
      }
      p = new Http1Origin(origin, t.connect, MAX_CONNECTIONS);
      t.byOrigin.set(origin, p);
      this.#idleSweeper ??= setInterval(() => this.#sweepIdle(), IDLE_SWEEP_MS).unref();
    }
    return p;
  }

  #parse(url: string): { origin: string; path: string } {
    let u = this.#urls.get(url);
    if (!u) {
      const p = new URL(url);
      u = { origin: p.origin, path: p.pathname + p.search };
      if (this.#urls.size >= MAX_PARSED_URLS) this.#urls.clear();
      this.#urls.set(url, u);
    }
    return u;
  }

  #sweep(): void {
    const now = performance.now();
    for (const f of this.#inFlight) {
      if (f.deadline > now) continue;
      this.#inFlight.delete(f);
      f.timeOut();
    }
    if (this.#inFlight.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  #sweepIdle(): void {
    const now = performance.now();
    for (const t of this.#pools.values()) for (const p of t.byOrigin.values()) p.sweepIdle(now);
  }

  /** Cuts every request under way (shutdown); they answer as failed attempts. */
  abortAll(): void {
    const all = [...this.#inFlight];
    this.#inFlight.clear();
    for (const f of all) f.cut();
  }

  /** One attempt: the answer's status, headers and first 4 KiB are all that is kept. */
  send(req: OutRequest, timeoutMs: number, connectTimeoutMs: number): Promise<SendResult> {
    const started = performance.now();
    return new Promise<SendResult>((resolve) => {
      const flight = new Attempt(started + timeoutMs, started, this.#opts.isRefused, (r) => {
        this.#inFlight.delete(flight);
        resolve(r);
      });
      this.#inFlight.add(flight);
      this.#sweeper ??= setInterval(() => this.#sweep(), SWEEP_MS).unref();
      try {
        const { origin, path } = this.#parse(req.url);
        flight.job = this.#pool(origin, connectTimeoutMs).request(req.method, path, req.shared ?? null, req.headers, req.body, flight);
      } catch (err) {
        flight.onError(err as Error);
      }
    });
  }

  async close(): Promise<void> {
    this.abortAll();
    clearInterval(this.#sweeper);
    clearInterval(this.#idleSweeper);
    for (const t of this.#pools.values()) for (const p of t.byOrigin.values()) p.destroy(new Error('the sender is closed'));
    this.#pools.clear();
  }
}

// A longer answer is cut off after this much (its socket given up): the log keeps 4 KiB.
const READ_AT_MOST = EXCERPT_BYTES * 16;

/**
 * One request's handler: collects the status, the headers and at most 4 KiB of the body, and
 * settles once, whichever comes first — the end of the answer, an error, our deadline
 * (timeOut) or shutdown (cut).
 */
class Attempt implements Http1Handler {
  readonly deadline: number;
  job: Http1Job | null = null;
  readonly #started: number;
  readonly #isRefused: (err: unknown) => boolean;
  readonly #done: (r: SendResult) => void;
  #status: number | null = null;
  #headers: Record<string, string> | null = null;
  /** the body's first piece, and any more (most answers come in one) */
  #first: Buffer | null = null;
  #more: Buffer[] | null = null;
  #size = 0;
  #settled = false;
  /** why we cut it ourselves: 'timeout', 'cut' (shutdown) */
  #cutBy: 'timeout' | 'cut' | null = null;

  constructor(deadline: number, started: number, isRefused: (err: unknown) => boolean, done: (r: SendResult) => void) {
    this.deadline = deadline;
    this.#started = started;
    this.#isRefused = isRefused;
    this.#done = done;
  }

  timeOut(): void {
    this.#stop('timeout');
  }

  cut(): void {
    this.#stop('cut');
  }

  #stop(why: 'timeout' | 'cut'): void {
    if (this.#settled || this.#cutBy !== null) return;
    this.#cutBy = why;
    this.job?.cancel(new Error(why));
  }

  onHead(statusCode: number, headers: Record<string, string>): void {
    this.#status = statusCode;
    this.#headers = headers;
  }

  onData(chunk: Buffer): boolean {
    this.#size += chunk.length;
    if (this.#size - chunk.length < EXCERPT_BYTES) {
      // a copy: the chunk may be a view of a buffer the next read reuses (Http1Handler.onData)
      const kept = Buffer.copyBytesFrom(chunk, 0, Math.min(chunk.length, EXCERPT_BYTES));
      if (this.#first === null) this.#first = kept;
      else (this.#more ??= []).push(kept);
    }
    // A longer answer is given up here: the answer was in, and it is what is logged.
    return this.#size <= READ_AT_MOST;
  }

  onComplete(): void {
    const first = this.#first;
    const body = first === null ? null : this.#more === null ? first : Buffer.concat([first, ...this.#more]);
    this.#settle({
      status_code: this.#status,
      headers: this.#headers,
      excerpt: body === null ? '' : body.toString('utf8', 0, excerptEnd(body)),
      error: null,
      refused: false,
      duration_ms: Math.round(performance.now() - this.#started),
    });
  }

  onError(err: Error): void {
    // An answer whose head came but whose body did not: not an answer (status_code null, retried),
    // but its status and headers are what the receiver said, and the log keeps them.
    const head = this.#status === null ? '' : ` after the answer's head (HTTP ${this.#status}), before its end`;
    this.#settle({
      status_code: null,
      headers: this.#headers,
      excerpt: null,
      error: (this.#cutBy === 'timeout' ? 'timeout' : describe(err)) + head,
      refused: this.#cutBy === null && this.#isRefused(err),
      duration_ms: Math.round(performance.now() - this.#started),
    });
  }

  #settle(r: SendResult): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#done(r);
  }
}

/** Where the excerpt ends: at most EXCERPT_BYTES, and before a last character the cut split (no U+FFFD at its end). */
function excerptEnd(body: Buffer): number {
  const end = Math.min(body.length, EXCERPT_BYTES);
  // the last character's first byte, among the last 4 (UTF-8 continuation bytes are 10xxxxxx)
  for (let i = end - 1; i >= Math.max(0, end - 4); i--) {
    const b = body[i]!;
    if ((b & 0xc0) === 0x80) continue;
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return i + length > end ? i : end;
  }
  return end;
}
