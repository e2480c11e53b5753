/**
 * The live feed behind `GET /v1/stream`: call events as their writes commit and delivery results
 * as the dispatcher reports them, per account, in memory.
 *
 * Publishing never waits for a reader: each frame is written to every connected reader's socket
 * at once, and a reader whose unsent bytes pass a bound is disconnected (it reconnects with
 * `Last-Event-ID` and is replayed what it missed). So a slow or stalled console costs memory up
 * to that bound, never time on the delivery path.
 *
 * Resume: each account keeps its last `historyPerAccount` items. An id carries this process's
 * epoch, so an id from before a restart, or older than the history, is answered with a `reset`
 * event (the reader reloads what it shows from the API) instead of a silent gap.
 */
import type { ServerResponse } from 'node:http';
import { eventView } from './calls/view.ts';
import { randomToken } from './ids.ts';
import type { CallEvent } from './calls/model.ts';
import type { AttemptResult, CallWrite, Store } from './store/contract.ts';

export const STREAM_EVENTS = ['call.event', 'delivery.result'] as const;
export type StreamEventName = (typeof STREAM_EVENTS)[number];

/** One item before it has an id (what split mode's delivery thread forwards to the API thread). */
export interface StreamItem {
  account_id: string;
  call_id: string | null;
  event: StreamEventName;
  /**
   * What the frame says. A function is called once, when a reader first needs the frame: most
   * items are never read (no console open), and building each one's view (two ISO dates and a
   * few objects per result) was ~2 % of the writing thread in workload (b).
   */
  data: Record<string, unknown> | (() => Record<string, unknown>);
  /** a call event's seq and type (the stream keeps each call's events in order) */
  seq?: number;
  type?: string;
}

const seqOf = (it: StreamItem): unknown => it.seq ?? (typeof it.data === 'function' ? undefined : it.data.seq);
const typeOf = (it: StreamItem): unknown => it.type ?? (typeof it.data === 'function' ? undefined : it.data.type);

/**
 * An item kept for readers and for resuming. Its SSE frame is written out the first time a
 * reader needs it: most items are never read (no console open), and a JSON.stringify per call
 * event and per delivery result was a measurable part of the hot path (issue 10).
 */
class Stored {
  readonly n: number;
  readonly call_id: string | null;
  #item: StreamItem | null;
  #epoch: string;
  #frame: string | null = null;
  constructor(n: number, epoch: string, item: StreamItem) {
    this.n = n;
    this.call_id = item.call_id;
    this.#epoch = epoch;
    this.#item = item;
  }

  get frame(): string {
    if (this.#frame === null) {
      const it = this.#item!;
      const data = typeof it.data === 'function' ? it.data() : it.data;
      this.#frame = `id: ${this.#epoch}.${this.n}\nevent: ${it.event}\ndata: ${JSON.stringify(data)}\n\n`;
      this.#item = null;
    }
    return this.#frame;
  }
}

interface Reader {
  account_id: string;
  call_id: string | undefined;
  res: ServerResponse;
  /** catching up: the last history item sent; null once live */
  after: number | null;
}

export interface StreamLimits {
  /** items kept per account for Last-Event-ID resume */
  historyPerAccount: number;
  /** unsent bytes a reader may have before it is disconnected */
  readerBufferBytes: number;
  /**
   * how long after an account's last reader went away its items are still kept for a reader
   * that comes back with Last-Event-ID (EventSource retries within seconds)
   */
  keepAfterReadersMs: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function callEventItems(w: CallWrite): StreamItem[] {
  // The call's state as this write left it, kept now (the call object may change later).
  const callId = w.call.id;
  const call = { status: w.call.status, outcome: w.call.outcome ?? null };
  return w.events.map((e: CallEvent) => ({
    account_id: w.call.account_id,
    call_id: callId,
    event: 'call.event',
    seq: e.seq,
    type: e.type,
    data: () => ({ call_id: callId, ...eventView(e), call }),
  }));
}

/** What the stream tells of one finished attempt. */
export interface ResultNews {
  account_id: string;
  call_id: string;
  delivery_id: string;
  format: string;
  target_id: string;
  status: AttemptResult['status'];
  attempt: number;
  started_at: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  next_attempt_at: number;
}

export function resultItems(results: AttemptResult[]): StreamItem[] {
  return results.map((r) => {
    const a = r.attempt;
    return resultItem({
      account_id: r.target.account_id, call_id: r.call_id, delivery_id: a.delivery_id, format: r.format, target_id: r.target.id,
      status: r.status, attempt: a.attempt, started_at: a.started_at, status_code: a.status_code, error: a.error,
      duration_ms: a.duration_ms, next_attempt_at: r.next_attempt_at,
    });
  });
}

export function resultItem(n: ResultNews): StreamItem {
  return {
    account_id: n.account_id,
    call_id: n.call_id,
    event: 'delivery.result',
    data: () => ({
      delivery_id: n.delivery_id,
      call_id: n.call_id,
      target: { format: n.format, id: n.target_id },
      status: n.status,
      attempt: n.attempt,
      started_at: iso(n.started_at),
      status_code: n.status_code,
      error: n.error,
      duration_ms: n.duration_ms,
      next_attempt_at: n.status === 'pending' ? iso(n.next_attempt_at) : null,
    }),
  };
}

/** How long an event waits for the one before it (split mode's two threads), and for how many calls. */
const REORDER_WAIT_MS = 1000;
const MAX_LINES = 10_000;

export class EventBus {
  readonly limits: StreamLimits;
  readonly #epoch = randomToken(4).replace(/[^A-Za-z0-9]/g, 'x');
  /** per account: its kept items, up to which it was cut, and its last id (ids count one account's items: another's volume is not its business) */
  readonly #history = new Map<string, { items: Stored[]; evictedUpTo: number; n: number }>();
  readonly #readers = new Set<Reader>();
  /** per account: its readers now, and when the last one left (#now) */
  readonly #watched = new Map<string, { readers: number; leftAt: number }>();
  #heartbeat: NodeJS.Timeout | undefined;
  /** readers disconnected for being too far behind (a metric and a test hook) */
  dropped = 0;
  /**
   * Per call: the seq expected next, and events that came before it. Events are published
   * after their commits, and two commits' continuations may run in either order, so an event
   * can arrive before the one it follows; it waits for it, at most REORDER_WAIT_MS.
   */
  readonly #lines = new Map<string, { next: number; held: Map<number, StreamItem>; timer: NodeJS.Timeout | undefined }>();

  /** a monotonic clock in ms (performance.now by default; tests pass their own) */
  readonly #now: () => number;

  constructor(limits: Partial<StreamLimits> = {}, now: () => number = () => performance.now()) {
    this.#now = now;
    this.limits = { historyPerAccount: 1000, readerBufferBytes: 1024 * 1024, keepAfterReadersMs: 5 * 60_000, ...limits };
  }

  get readers(): number {
    return this.#readers.size;
  }

  /**
   * Items are kept only for an account someone watches: a reader is connected, or one left less
   * than `keepAfterReadersMs` ago. Kept, an item lives in the history for its next 1,000–2,000
   * items, long enough for V8 to promote it and its view to the old generation, where it dies:
   * with no console open (nearly always) that was ~2 of the ~19 KB allocated per delivery on the
   * writing thread, and the costliest kind for the GC. Unkept items still take an id, and the
   * account's history is marked as cut there: a reader that comes back with an earlier id gets
   * a `reset`, never a silent gap.
   */
  #keeps(accountId: string, now: number): boolean {
    const w = this.#watched.get(accountId);
    return w !== undefined && (w.readers > 0 || now - w.leftAt < this.limits.keepAfterReadersMs);
  }

  #historyOf(accountId: string): { items: Stored[]; evictedUpTo: number; n: number } {
    let h = this.#history.get(accountId);
    if (!h) this.#history.set(accountId, (h = { items: [], evictedUpTo: 0, n: 0 }));
    return h;
  }

  #skip(accountId: string): void {
    const h = this.#historyOf(accountId);
    if (h.items.length > 0) h.items = [];
    h.evictedUpTo = ++h.n;
  }

  publish(items: StreamItem[]): void {
    if (items.length === 0) return;
    const now = this.#now();
    for (const it of items) {
      if (!this.#keeps(it.account_id, now)) {
        this.#skip(it.account_id);
        continue;
      }
      const seq = it.event === 'call.event' && it.call_id !== null ? seqOf(it) : undefined;
      if (typeof seq !== 'number') this.#store(it);
      else this.#inOrder(it.call_id!, seq, it);
    }
  }

  #inOrder(callId: string, seq: number, it: StreamItem): void {
    let line = this.#lines.get(callId);
    if (!line) {
      // a call first seen mid-way (started before this process) starts where it is
      if (this.#lines.size >= MAX_LINES) this.#forget(this.#lines.keys().next().value!);
      this.#lines.set(callId, (line = { next: seq, held: new Map(), timer: undefined }));
    }
    if (seq > line.next) {
      line.held.set(seq, it);
      line.timer ??= setTimeout(() => this.#flush(callId), REORDER_WAIT_MS).unref();
      return;
    }
    this.#store(it);
    if (seq === line.next) line.next++;
    while (line.held.has(line.next)) {
      this.#store(line.held.get(line.next)!);
      line.held.delete(line.next++);
    }
    if (line.held.size === 0) {
      clearTimeout(line.timer);
      line.timer = undefined;
      if (typeOf(it) === 'call.ended') this.#lines.delete(callId);
    }
  }

  /** The gap never filled (an event lost to a failed send between threads): go on without it. */
  #flush(callId: string): void {
    const line = this.#lines.get(callId);
    if (!line) return;
    clearTimeout(line.timer);
    line.timer = undefined;
    for (const seq of [...line.held.keys()].sort((a, b) => a - b)) {
      const it = line.held.get(seq)!;
      this.#store(it);
      line.next = seq + 1;
      if (typeOf(it) === 'call.ended') this.#lines.delete(callId);
    }
    line.held.clear();
  }

  #forget(callId: string): void {
    this.#flush(callId);
    this.#lines.delete(callId);
  }

  #store(it: StreamItem): void {
    const h = this.#historyOf(it.account_id);
    const s = new Stored(++h.n, this.#epoch, it);
    h.items.push(s);
    if (h.items.length > this.limits.historyPerAccount * 2) {
      // trimmed in halves, so a publish costs O(1) on average
      const cut = h.items.length - this.limits.historyPerAccount;
      h.evictedUpTo = h.items[cut - 1]!.n;
      h.items = h.items.slice(cut);
    }
    for (const r of this.#readers) if (r.account_id === it.account_id) this.#send(r, s);
  }

  /**
   * A new reader: what it missed since `lastEventId` (or a `reset` when that is not known here),
   * then everything live until it goes away.
   */
  attach(res: ServerResponse, account_id: string, call_id: string | undefined, lastEventId: string | undefined): void {
    const r: Reader = { account_id, call_id, res, after: null };
    res.write('retry: 2000\n\n');
    if (lastEventId !== undefined && lastEventId !== '') {
      const m = /^([A-Za-z0-9]+)\.(\d+)$/.exec(lastEventId);
      const after = m && m[1] === this.#epoch ? Number(m[2]) : null;
      if (after === null || after > (this.#history.get(account_id)?.n ?? 0)) this.#reset(r, 'unknown_id');
      else r.after = after;
    }
    this.#add(r);
    res.on('close', () => this.#remove(r));
    this.#catchUp(r);
    this.#heartbeat ??= setInterval(() => {
      for (const x of this.#readers) x.res.write(': keep-alive\n\n');
    }, 15_000).unref();
  }

  #add(r: Reader): void {
    this.#readers.add(r);
    const w = this.#watched.get(r.account_id);
    if (w) w.readers += 1;
    else this.#watched.set(r.account_id, { readers: 1, leftAt: 0 });
  }

  #remove(r: Reader): void {
    if (!this.#readers.delete(r)) return;
    const w = this.#watched.get(r.account_id)!;
    w.readers -= 1;
    if (w.readers === 0) w.leftAt = this.#now();
  }

  /** The id keeps the reader's place: a reconnect after a reset starts from now. */
  #reset(r: Reader, reason: string): void {
    r.res.write(`id: ${this.#epoch}.${this.#history.get(r.account_id)?.n ?? 0}\nevent: reset\ndata: ${JSON.stringify({ reason })}\n\n`);
    r.after = null;
  }

  /**
   * Replays history after `r.after` as fast as the reader takes it (half its bound at a time,
   * then on 'drain'), so a replay of large events neither drops it nor buffers the history.
   * Live items meanwhile land in the history and are replayed in turn.
   */
  #catchUp(r: Reader): void {
    if (r.after === null || r.res.destroyed) return;
    const h = this.#history.get(r.account_id);
    if (h && r.after < h.evictedUpTo) return this.#reset(r, 'too_far_behind');
    for (const s of h?.items ?? []) {
      if (s.n <= r.after) continue;
      if (r.call_id === undefined || s.call_id === r.call_id) r.res.write(s.frame);
      r.after = s.n;
      if (r.res.writableLength > this.limits.readerBufferBytes / 2) {
        r.res.once('drain', () => this.#catchUp(r));
        return;
      }
    }
    r.after = null;
  }

  #send(r: Reader, s: Stored): void {
    if (r.after !== null) return;
    if (r.call_id !== undefined && s.call_id !== r.call_id) return;
    r.res.write(s.frame);
    if (r.res.writableLength > this.limits.readerBufferBytes) {
      this.dropped++;
      this.#remove(r);
      r.res.destroy();
    }
  }

  /** Ends every stream (the server is closing: open streams would hold it up). */
  close(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    for (const r of this.#readers) r.res.end();
    this.#readers.clear();
  }
}

/**
 * The store as the dispatcher sees it, telling `onResults` of every result it hands over (the
 * dispatcher reports them through a claim's `settle` or through recordAttempts) once the store
 * has taken it: a reader told of a result finds it (a store whose claim answers after its
 * commit, as PostgreSQL's; the SQLite store tells of its own commits, onResultsCommitted).
 */
export function tapResults(store: Store, onResults: (r: AttemptResult[]) => void): Store {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'recordAttempts') {
        return (results: AttemptResult[], now: number) => target.recordAttempts(results, now).then(() => onResults(results));
      }
      if (prop === 'claimDeliveries') {
        return (...a: Parameters<Store['claimDeliveries']>) => target.claimDeliveries(...a).then((claimed) => {
          if (a[5] && a[5].length > 0) onResults(a[5]);
          return claimed;
        });
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
    },
  });
}
