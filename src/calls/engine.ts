import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Store } from '../store/contract.ts';
import { Loop } from '../loop.ts';
import type { CallService } from './service.ts';

export interface EngineDeps {
  store: Store;
  clock: Clock;
  calls: CallService;
  log: Logger;
  owner: string;
  leaseMs: number;
}

// Claim up to 64 due calls per round; each is a small transaction, so a round stays short and a
// hangup racing a timer waits at most one round.
const BATCH = 64;
// With nothing due, look again after 1 s anyway: another process may have added a timer.
const IDLE_MS = 1000;

/**
 * Plays the durable timers of simulated calls (and the idle timeout of ingested ones). A timer
 * is claimed with a lease, so after a crash another run takes it over once the lease expires.
 */
export class Engine {
  readonly #d: EngineDeps;
  readonly #loop: Loop;

  constructor(deps: EngineDeps) {
    this.#d = deps;
    this.#loop = new Loop('engine', deps.log, () => this.#round());
  }

  start(): void {
    this.#loop.start();
  }

  nudge(): void {
    this.#loop.nudge();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    await this.#d.store.releaseTimers(this.#d.owner);
  }

  async #round(): Promise<number> {
    const { store, clock, log } = this.#d;
    const now = clock.now();
    const claims = await store.claimTimers(this.#d.owner, now, now + this.#d.leaseMs, BATCH);
    await Promise.all(claims.map((c) => this.#d.calls.advance(c.call_id).catch((err: unknown) => {
      log.error({ err, call_id: c.call_id }, 'call step failed; retried when its lease expires');
    })));
    if (claims.length === BATCH) return 0;
    const next = await store.nextTimerDue();
    return next === null ? IDLE_MS : Math.min(IDLE_MS, Math.max(0, next - clock.now()));
  }
}
