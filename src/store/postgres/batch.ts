/**
 * Group commit on PostgreSQL: what is asked for while earlier batches are still at the server
 * goes out together, as one statement for the whole batch. At most IN_FLIGHT batches of a kind
 * are at the server at once; the first request after a quiet spell goes out in the turn it was
 * made (setImmediate), so an idle store adds no wait, and a busy one sends fewer, larger
 * statements. Switch-event ingestion (200 calls side by side per request) is where this counts:
 * one statement for many calls instead of one each.
 */
// 4 batches at the server at once (the pool has 10 connections; on 2 cores the server runs
// 2 statements at a time, so 4 keeps it busy while one waits on a lock or a flush).
const IN_FLIGHT = 4;

/** An item's own failure in a batch's answer: that item's promise rejects, the others' resolve. */
export class ItemFailed {
  readonly cause: unknown;
  constructor(cause: unknown) {
    this.cause = cause;
  }
}

interface Pending<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (err: unknown) => void;
}

export class Batcher<I, O> {
  readonly #run: (items: I[]) => Promise<(O | ItemFailed)[]>;
  readonly #max: number;
  readonly #key: ((item: I) => string) | undefined;
  #queue: Pending<I, O>[] = [];
  #scheduled = false;
  #inFlight = 0;

  /**
   * `run` answers one result per item, in order (an `ItemFailed` rejects that item alone). At
   * most `max` items per batch; items with the same `key` never share a batch (a second write of
   * one call goes in the next).
   */
  constructor(run: (items: I[]) => Promise<(O | ItemFailed)[]>, max: number, key?: (item: I) => string) {
    this.#run = run;
    this.#max = max;
    this.#key = key;
  }

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#queue.length === 0 || this.#inFlight >= IN_FLIGHT) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#inFlight >= IN_FLIGHT) return;
    const batch: Pending<I, O>[] = [];
    const rest: Pending<I, O>[] = [];
    const keys = new Set<string>();
    for (const p of this.#queue) {
      const k = this.#key?.(p.item);
      if (batch.length >= this.#max || (k !== undefined && keys.has(k))) {
        rest.push(p);
        continue;
      }
      if (k !== undefined) keys.add(k);
      batch.push(p);
    }
    this.#queue = rest;
    if (batch.length === 0) return;
    this.#inFlight += 1;
    this.#run(batch.map((p) => p.item))
      .then((out) => batch.forEach((p, i) => {
        const o = out[i]!;
        if (o instanceof ItemFailed) p.reject(o.cause);
        else p.resolve(o);
      }), (err: unknown) => batch.forEach((p) => p.reject(err)))
      .finally(() => {
        this.#inFlight -= 1;
        this.#schedule();
      });
    this.#schedule();
  }
}
