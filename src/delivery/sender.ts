import { Pool, type Dispatcher } from 'undici';
import type { SendRequest } from '../store/contract.ts';

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

export type ConnectFactory = (connectTimeoutMs: number) => Pool.Options['connect'];

export interface SenderOptions {
  connect: ConnectFactory;
  /** tells a refusal by the address guard from other connection errors */
  isRefused: (err: unknown) => boolean;
}

function describe(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT') return 'timeout';
  const code = e?.cause?.code ?? e?.code;
  const msg = e?.cause?.message ?? e?.message ?? String(err);
  return code ? `${code}: ${msg}` : msg;
}

/**
 * Sends webhook requests with undici: keep-alive pools per origin, timeouts, no redirects (a 3xx
 * is an answer, not an instruction), and the address guard in the connector. One Pool per
 * origin and connect timeout (undici fixes the timeout per connector; targets nearly all share
 * the default), kept here rather than behind an undici Agent: the Agent's own routing to its
 * pools cost ~2 µs a request (bench/client-cost.ts: 29.5–33.2 µs a POST through a Pool against
 * 32.0–36.8 through an Agent, alternating rounds).
 */
// In-flight requests past their deadline are cut by one sweep every 50 ms, rather than by a
// timer and a composite abort signal per request (AbortSignal.timeout + AbortSignal.any cost
// ~4 % of Hookline's CPU at full speed). undici's own headers/body timeouts cut a silent target
// first; the sweep bounds the total, 50 ms late at most.
const SWEEP_MS = 50;
// Parsed URLs of recent targets: most requests go to a few URLs again and again.
const MAX_PARSED_URLS = 1000;
// Pools kept at most per connect timeout: past this the oldest is closed (it finishes the
// requests it has under way, their handlers answer them, and takes no more).
const MAX_POOLS = 1000;

export class Sender {
  /** per connect timeout: its connector (the address guard's), and a Pool per origin */
  readonly #pools = new Map<number, { connect: Pool.Options['connect']; byOrigin: Map<string, Pool> }>();
  readonly #opts: SenderOptions;
  readonly #inFlight = new Set<Attempt>();
  readonly #urls = new Map<string, { origin: string; path: string }>();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(opts: SenderOptions) {
    this.#opts = opts;
  }

  #pool(origin: string, connectTimeoutMs: number): Pool {
    let t = this.#pools.get(connectTimeoutMs);
    if (!t) this.#pools.set(connectTimeoutMs, (t = { connect: this.#opts.connect(connectTimeoutMs), byOrigin: new Map() }));
    let p = t.byOrigin.get(origin);
    if (!p) {
      if (t.byOrigin.size >= MAX_POOLS) {
        const [oldest, pool] = t.byOrigin.entries().next().value!;
        t.byOrigin.delete(oldest);
        // Nothing to report: its requests under way answer through their own handlers.
        pool.close().catch(() => undefined);
      }
      p = new Pool(origin, {
        connect: t.connect,
        keepAliveTimeout: 10_000,
        // up to 128 sockets per origin: per-target concurrency limits are enforced above this
        connections: 128,
      });
      t.byOrigin.set(origin, p);
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

  /** Cuts every request under way (shutdown); they answer as failed attempts. */
  abortAll(): void {
    const all = [...this.#inFlight];
    this.#inFlight.clear();
    for (const f of all) f.cut();
  }

  /**
   * One attempt through undici's dispatch API with a handler of our own: the answer's status,
   * headers and first bytes are all we keep, and the stream, async iterator and abort signal
   * that `request()` builds around them cost ~15 µs per delivery (profile of the bench's (a)).
   */
  send(req: SendRequest, timeoutMs: number, connectTimeoutMs: number): Promise<SendResult> {
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
        this.#pool(origin, connectTimeoutMs).dispatch({
          path,
          method: req.method as Dispatcher.HttpMethod,
          headers: req.headers,
          body: req.body,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        }, flight);
      } catch (err) {
        flight.onError(err as Error);
      }
    });
  }

  async close(): Promise<void> {
    this.abortAll();
    clearInterval(this.#sweeper);
    await Promise.all([...this.#pools.values()].flatMap((t) => [...t.byOrigin.values()].map((p) => p.close())));
    this.#pools.clear();
  }
}

// A longer answer is cut off after this much (its socket given up): the log keeps 4 KiB.
const READ_AT_MOST = EXCERPT_BYTES * 16;

/**
 * One request's undici handler (the dispatch API's callbacks): collects the status, the
 * headers and at most 4 KiB of the body, and settles once, whichever comes first — the end of
 * the answer, an error, our deadline (timeOut) or shutdown (cut).
 */
class Attempt implements Dispatcher.DispatchHandler {
  readonly deadline: number;
  readonly #started: number;
  readonly #isRefused: (err: unknown) => boolean;
  readonly #done: (r: SendResult) => void;
  #abort: ((err?: Error) => void) | undefined;
  #status: number | null = null;
  #headers: Record<string, string> | null = null;
  #chunks: Buffer[] = [];
  #size = 0;
  #settled = false;
  /** why we cut it ourselves: 'timeout', 'cut' (shutdown), 'long' (body past READ_AT_MOST) */
  #cutBy: 'timeout' | 'cut' | 'long' | null = null;

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

  #stop(why: 'timeout' | 'cut' | 'long'): void {
    if (this.#settled || this.#cutBy !== null) return;
    this.#cutBy = why;
    // Not dispatched yet (queued in the pool): it is given up when it starts (onConnect).
    this.#abort?.(new Error(why));
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.#cutBy !== null) abort(new Error(this.#cutBy));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null, _resume: () => void): boolean {
    this.#status = statusCode;
    const h: Record<string, string> = {};
    if (rawHeaders) {
      for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
        const k = rawHeaders[i]!.toString().toLowerCase();
        const v = rawHeaders[i + 1]!.toString();
        h[k] = h[k] === undefined ? v : `${h[k]}, ${v}`;
      }
    }
    this.#headers = h;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#size += chunk.length;
    if (this.#size > READ_AT_MOST) {
      this.#stop('long');
      return false;
    }
    if (this.#size - chunk.length < EXCERPT_BYTES) this.#chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    this.#answered();
  }

  onError(err: Error): void {
    // Cut for being long: the answer was in, and it is what is logged.
    if (this.#cutBy === 'long' && this.#status !== null) return this.#answered();
    this.#settle({
      status_code: null,
      headers: null,
      excerpt: null,
      error: this.#cutBy === 'timeout' ? 'timeout' : describe(err),
      refused: this.#cutBy === null && this.#isRefused(err),
      duration_ms: Math.round(performance.now() - this.#started),
    });
  }

  #answered(): void {
    const body = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#settle({
      status_code: this.#status,
      headers: this.#headers,
      excerpt: body.subarray(0, EXCERPT_BYTES).toString('utf8'),
      error: null,
      refused: false,
      duration_ms: Math.round(performance.now() - this.#started),
    });
  }

  #settle(r: SendResult): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#done(r);
  }
}
