import { Agent, type Dispatcher } from 'undici';
import type { OutgoingRequest } from '../store/contract.ts';

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

export type ConnectFactory = (connectTimeoutMs: number) => Agent.Options['connect'];

export interface SenderOptions {
  connect: ConnectFactory;
  /** tells a refusal by the address guard from other connection errors */
  isRefused: (err: unknown) => boolean;
}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
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
 * is an answer, not an instruction), and the address guard in the connector. One Agent per
 * connect timeout, since undici fixes that per connector; targets nearly all share the default.
 */
// In-flight requests past their deadline are cut by one sweep every 50 ms, rather than by a
// timer and a composite abort signal per request (AbortSignal.timeout + AbortSignal.any cost
// ~4 % of Hookline's CPU at full speed). undici's own headers/body timeouts cut a silent target
// first; the sweep bounds the total, 50 ms late at most.
const SWEEP_MS = 50;
// Parsed URLs of recent targets: most requests go to a few URLs again and again.
const MAX_PARSED_URLS = 1000;

interface InFlight {
  deadline: number;
  abort: AbortController;
  timedOut: boolean;
}

export class Sender {
  readonly #agents = new Map<number, Agent>();
  readonly #opts: SenderOptions;
  readonly #inFlight = new Set<InFlight>();
  readonly #urls = new Map<string, { origin: string; path: string }>();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(opts: SenderOptions) {
    this.#opts = opts;
  }

  #agent(connectTimeoutMs: number): Agent {
    let a = this.#agents.get(connectTimeoutMs);
    if (!a) {
      a = new Agent({
        connect: this.#opts.connect(connectTimeoutMs),
        keepAliveTimeout: 10_000,
        // up to 128 sockets per origin: per-target concurrency limits are enforced above this
        connections: 128,
      });
      this.#agents.set(connectTimeoutMs, a);
    }
    return a;
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
      f.timedOut = true;
      f.abort.abort();
      this.#inFlight.delete(f);
    }
    if (this.#inFlight.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /** Cuts every request under way (shutdown); they answer as failed attempts. */
  abortAll(): void {
    for (const f of this.#inFlight) f.abort.abort();
    this.#inFlight.clear();
  }

  async send(req: OutgoingRequest, timeoutMs: number, connectTimeoutMs: number): Promise<SendResult> {
    const started = performance.now();
    const flight: InFlight = { deadline: started + timeoutMs, abort: new AbortController(), timedOut: false };
    this.#inFlight.add(flight);
    this.#sweeper ??= setInterval(() => this.#sweep(), SWEEP_MS).unref();
    let res: Dispatcher.ResponseData | undefined;
    try {
      const { origin, path } = this.#parse(req.url);
      res = await this.#agent(connectTimeoutMs).request({
        origin,
        path,
        method: req.method as Dispatcher.HttpMethod,
        headers: req.headers,
        body: req.body,
        signal: flight.abort.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const excerpt = await readExcerpt(res.body);
      return {
        status_code: res.statusCode,
        headers: flattenHeaders(res.headers),
        excerpt,
        error: null,
        refused: false,
        duration_ms: Math.round(performance.now() - started),
      };
    } catch (err) {
      res?.body.destroy();
      return {
        status_code: null,
        headers: null,
        excerpt: null,
        error: flight.timedOut ? 'timeout' : describe(err),
        refused: this.#opts.isRefused(err),
        duration_ms: Math.round(performance.now() - started),
      };
    } finally {
      this.#inFlight.delete(flight);
    }
  }

  async close(): Promise<void> {
    this.abortAll();
    clearInterval(this.#sweeper);
    await Promise.all([...this.#agents.values()].map((a) => a.close()));
    this.#agents.clear();
  }
}

/** Reads at most 4 KiB of the answer; a longer body is cut off (and its socket given up). */
async function readExcerpt(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > EXCERPT_BYTES * 16) {
      body.destroy();
      break;
    }
  }
  const buf = Buffer.concat(chunks);
  return buf.subarray(0, EXCERPT_BYTES).toString('utf8');
}
