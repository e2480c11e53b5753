/**
 * The worker thread of split mode (split.ts): the dispatcher and retention, on a connection of
 * their own to the same SQLite database, owning the delivery queue.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from './config.ts';
import type { PackedOffers } from './store/sqlite/packed-offers.ts';
import type { PackedResults } from './store/sqlite/packed-results.ts';
import { createHookline } from './hookline.ts';
import { SqliteStore } from './store/sqlite/store.ts';
import { threadStats } from './thread-stats.ts';

const port = parentPort!;
const { config } = workerData as { config: Config };

// Results are written by the API thread's connection (see SqliteOptions.writeResults).
const asks = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
let nextAsk = 1;
const writeResults = (results: PackedResults, held: string[], now: number): Promise<void> => new Promise((resolve, reject) => {
  const wid = nextAsk++;
  asks.set(wid, { resolve, reject });
  port.postMessage({ wid, method: 'writeResults', args: [results, held, now] });
});
// The API thread's connection runs the WAL's checkpoints (it does nearly all the writing).
const store = new SqliteStore(config.dataDir, { queue: 'fed', writeResults, checkpoints: false });
const h = await createHookline({ ...config, role: 'worker' }, { store, embedded: true });
// GET /v1/stream is served by the API thread, which publishes the results as it writes them.
await h.start();

const methods: Record<string, (...args: never[]) => Promise<unknown>> = {
  getDelivery: (a: string, id: string) => store.getDelivery(a, id),
  listDeliveries: (a: string, f: Parameters<SqliteStore['listDeliveries']>[1], limit: number, after: string | null) => store.listDeliveries(a, f, limit, after),
  retryDelivery: async (a: string, id: string, now: number) => {
    const ok = await store.retryDelivery(a, id, now);
    if (ok) h.parts.dispatcher.nudge();
    return ok;
  },
  stats: (now: number) => store.stats(now),
  metrics: () => h.metrics.metrics(),
  threadStats: async () => threadStats(),
  stop: () => h.stop(),
};

port.on('message', (m: { type?: string; id?: number; wid?: number; ok?: boolean; error?: string; method?: string; args?: unknown[]; offered?: PackedOffers; account?: string }) => {
  if (m.wid !== undefined) {
    const a = asks.get(m.wid);
    asks.delete(m.wid);
    if (m.ok) a?.resolve();
    else a?.reject(new Error(m.error));
    return;
  }
  // Sent before any later request of the API thread (a retry after a re-enable finds the new state).
  if (m.type === 'invalidate') {
    h.parts.registry.invalidate(m.account!);
    return;
  }
  if (m.type === 'nudge') {
    if (m.offered) store.offer(m.offered);
    h.parts.dispatcher.nudge();
    return;
  }
  const fn = m.method === undefined ? undefined : methods[m.method];
  if (m.id === undefined || !fn) return;
  (fn as (...a: unknown[]) => Promise<unknown>)(...(m.args ?? [])).then(
    (value) => port.postMessage({ id: m.id, ok: true, value }),
    (err: unknown) => port.postMessage({ id: m.id, ok: false, error: String(err) }),
  );
});
// h.start() ran the dispatcher's first round, which built the queue from the rows: every
// delivery the API thread commits from now on reaches it in a nudge's `offered`.
port.postMessage({ type: 'ready' });
