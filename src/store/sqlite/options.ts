/** What a SqliteStore is built with (store.ts): who owns its queue, and how split mode's threads share the work. */
import type { Delivery, DeliveryFilter, StoreStats } from '../contract.ts';
import type { Windows } from './entries.ts';
import type { PackedResults } from './packed-results.ts';

/** The queue's reads and retries, answered by the thread that owns the queue (split mode). */
export interface QueueRemote {
  getDelivery(accountId: string, id: string): Promise<Delivery | undefined>;
  listDeliveries(accountId: string, f: DeliveryFilter, limit: number, after: string | null): Promise<Delivery[]>;
  retryDelivery(accountId: string, id: string, now: number): Promise<boolean>;
  stats(now: number): Promise<StoreStats>;
}

/** Records results on another connection (split mode: the API thread, the only writer of them). */
export type ResultWriter = (results: PackedResults, held: string[], now: number) => Promise<void>;

export interface SqliteOptions {
  /**
   * Who owns the delivery queue. `own` (default): this store, fed by its own writes. `fed`:
   * this store, fed by `offer` with what another connection committed (split mode's delivery
   * thread; the API thread is the one writer of deliveries). A `remote` store owns none: the
   * queue's reads and retries go to the thread that does.
   */
  queue?: 'own' | 'fed';
  remote?: QueueRemote;
  /** split mode: the API thread's connection writes results (another's commits drop its page cache) */
  writeResults?: ResultWriter;
  /** false: leave the WAL's checkpoints to another connection (db.ts DbOptions) */
  checkpoints?: boolean;
  /** how much of each target's queue is held in memory (scheduler.ts Windows; tests make them small) */
  windows?: Partial<Windows>;
}
