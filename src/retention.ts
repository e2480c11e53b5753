import type { Logger } from 'pino';
import type { Clock } from './clock.ts';
import { Loop } from './loop.ts';
import type { Store } from './store/contract.ts';

// Small batches: each is one short write transaction (500 rows of each kind: a few ms on SQLite),
// and the hot path's writes run between two of them.
const BATCH = 500;
// A full batch means more is waiting: the next one soon, but not at once.
const BETWEEN_BATCHES_MS = 50;
// Nothing (or little) left: look again in a minute; rows age by the day.
const EVERY_MS = 60_000;

export interface RetentionDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  retentionMs: number;
  deadRetentionMs: number;
}

/**
 * Keeps the database bounded: deletes, in the background and in small batches, succeeded
 * deliveries (with their attempts) and ended calls older than the retention age, and dead
 * deliveries once they are older than the dead-retention age (until then they can be retried
 * from the log; a retried one ages again from its new result).
 */
export class Retention {
  readonly #d: RetentionDeps;
  readonly #loop: Loop;

  constructor(deps: RetentionDeps) {
    this.#d = deps;
    this.#loop = new Loop('retention', deps.log, async () => ((await this.runOnce()) >= BATCH ? BETWEEN_BATCHES_MS : EVERY_MS));
  }

  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** One batch; answers how many rows went. */
  async runOnce(): Promise<number> {
    const now = this.#d.clock.now();
    const n = await this.#d.store.purge({ before: now - this.#d.retentionMs, deadBefore: now - this.#d.deadRetentionMs, batch: BATCH });
    if (n > 0) this.#d.log.debug({ rows: n }, 'retention deleted old rows');
    return n;
  }
}
