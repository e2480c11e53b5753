import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Delivery, DeliveryFilter, NewDelivery, StoreStats } from './store/contract.ts';
import { packOffers } from './store/sqlite/packed-offers.ts';
import type { PackedResults } from './store/sqlite/packed-results.ts';
import type { QueueRemote, ResultWriter } from './store/sqlite/store.ts';
import type { ThreadStats } from './thread-stats.ts';
import { WORKER_OLD_GENERATION_MB, WORKER_YOUNG_GENERATION_MB } from './node-flags.ts';

/**
 * Split mode (SQLite, `--role all`, `HOOKLINE_THREADS=2`): the API and the call engine run on the
 * main thread, the dispatcher and retention on a worker thread (split-worker.ts) with its own
 * connection to the one WAL database, so the two halves of the hot path use both cores. The
 * main thread's connection does the writing (the worker's results come here to be written).
 *
 * The worker owns the delivery queue: the main thread hands it each commit's deliveries in
 * commit order with the "there is work" message, and asks it for what only the queue knows
 * (a delivery under way, a retry, the queue's counts, the delivery metrics).
 */

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };
/** A request of the delivery thread to this one (the writes it leaves to this connection). */
type Ask = { wid: number; method: 'writeResults'; args: [PackedResults, string[], number] };

export class SplitWorker implements QueueRemote {
  readonly #worker: Worker;
  readonly #log: Logger;
  readonly #calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 1;
  #stopping = false;
  #nudged = false;
  #offered: NewDelivery[] = [];

  private constructor(worker: Worker, log: Logger, writeResults: ResultWriter) {
    this.#worker = worker;
    this.#log = log;
    worker.on('message', (m: Reply | Ask | { type: 'ready' }) => {
      if ('type' in m) return;
      if ('wid' in m) {
        writeResults(...m.args).then(
          () => worker.postMessage({ wid: m.wid, ok: true }),
          (err: unknown) => worker.postMessage({ wid: m.wid, ok: false, error: String(err) }),
        );
        return;
      }
      const c = this.#calls.get(m.id);
      if (!c) return;
      this.#calls.delete(m.id);
      if (m.ok) c.resolve(m.value);
      else c.reject(new Error(m.error));
    });
    worker.on('exit', (code) => {
      for (const c of this.#calls.values()) c.reject(new Error(`the delivery thread exited (${code})`));
      this.#calls.clear();
      if (this.#stopping) return;
      // Without its engine and dispatcher the process would take calls and never deliver them:
      // it stops, so that a supervisor starts it again (nothing is lost: the rows are durable).
      this.#log.fatal({ code }, 'the delivery thread died; stopping');
      process.exit(70);
    });
  }

  /** `writeResults` writes the delivery thread's results on this thread's connection. */
  static async start(config: Config, log: Logger, writeResults: ResultWriter): Promise<SplitWorker> {
    const worker = new Worker(new URL('./split-worker.ts', import.meta.url), { workerData: { config }, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB, maxOldGenerationSizeMb: WORKER_OLD_GENERATION_MB } });
    const w = new SplitWorker(worker, log, writeResults);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: { type?: string }): void => {
        if (m.type !== 'ready') return;
        worker.off('message', onMessage);
        worker.off('error', reject);
        resolve();
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
    worker.on('error', (err) => log.error({ err }, 'delivery thread error'));
    return w;
  }

  #call<T>(method: string, ...args: unknown[]): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#calls.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker.postMessage({ id, method, args });
    });
  }

  /**
   * "There is work": at most one message per event-loop turn, however many commits made some.
   * It carries the committed deliveries, so that the delivery thread need not read them back
   * for their first attempt (SqliteStore.offer).
   */
  nudge(deliveries: readonly NewDelivery[] = []): void {
    for (const d of deliveries) this.#offered.push(d);
    if (this.#nudged) return;
    this.#nudged = true;
    setImmediate(() => {
      this.#nudged = false;
      const { packed, transfer } = packOffers(this.#offered);
      this.#offered = [];
      this.#worker.postMessage({ type: 'nudge', offered: packed }, transfer);
    });
  }

  /** A target of the account was written here: the delivery thread's cache of them is stale now. */
  invalidate(accountId: string): void {
    this.#worker.postMessage({ type: 'invalidate', account: accountId });
  }

  getDelivery(accountId: string, id: string): Promise<Delivery | undefined> {
    return this.#call('getDelivery', accountId, id);
  }

  listDeliveries(accountId: string, f: DeliveryFilter, limit: number, after: string | null): Promise<Delivery[]> {
    return this.#call('listDeliveries', accountId, f, limit, after);
  }

  async retryDelivery(accountId: string, id: string, now: number): Promise<boolean> {
    return this.#call('retryDelivery', accountId, id, now);
  }

  stats(now: number): Promise<StoreStats> {
    return this.#call('stats', now);
  }

  /** the delivery thread's own metrics (the dispatcher's), in Prometheus text */
  metrics(): Promise<string> {
    return this.#call('metrics');
  }

  /** the delivery thread's heap and CPU (hookline_thread_heap_bytes, hookline_thread_cpu_seconds_total) */
  threadStats(): Promise<ThreadStats> {
    return this.#call('threadStats');
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#call('stop').catch(() => undefined);
    await this.#worker.terminate();
  }
}
