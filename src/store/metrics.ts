import { Gauge, type Registry } from 'prom-client';
import type { Clock } from '../clock.ts';
import type { Store } from './contract.ts';

/**
 * Storage gauges for /metrics, read from the store at scrape time: the database's and the WAL's
 * size (the disk bound an operator watches), the queue's depth by status, and the age of the
 * oldest due delivery (how far behind delivery is).
 */
export function registerStoreMetrics(registry: Registry, store: Store, clock: Clock): void {
  let last: Promise<Awaited<ReturnType<Store['stats']>>> | null = null;
  // The four gauges of one scrape share one read of the store.
  const read = (): Promise<Awaited<ReturnType<Store['stats']>>> => {
    last ??= store.stats(clock.now()).finally(() => setImmediate(() => (last = null)));
    return last;
  };
  new Gauge({
    name: 'hookline_database_bytes', help: 'Size of the database (SQLite: the file; PostgreSQL: the database)', registers: [registry],
    async collect() {
      const s = await read();
      if (s.database_bytes !== null) this.set(s.database_bytes);
    },
  });
  new Gauge({
    name: 'hookline_wal_bytes', help: 'Size of the write-ahead log (SQLite: the -wal file; PostgreSQL: the server\'s pg_wal, when readable)', registers: [registry],
    async collect() {
      const s = await read();
      if (s.wal_bytes !== null) this.set(s.wal_bytes);
    },
  });
  new Gauge({
    name: 'hookline_deliveries', help: 'Deliveries by status: queued (behind an earlier event), pending, delivering, dead', labelNames: ['status'], registers: [registry],
    async collect() {
      const s = await read();
      for (const [status, n] of Object.entries(s.deliveries)) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'hookline_oldest_due_delivery_seconds', help: 'Age of the oldest delivery that is due and not yet being attempted (0: none)', registers: [registry],
    async collect() {
      const s = await read();
      this.set(s.oldest_due_at === null ? 0 : Math.max(0, clock.now() - s.oldest_due_at) / 1000);
    },
  });
}
