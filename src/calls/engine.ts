import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Store } from '../store/contract.ts';
import { Loop } from '../loop.ts';
import type { Call } from './model.ts';
import type { CallService, Kept } from './service.ts';

export interface EngineDeps {
  store: Store;
  clock: Clock;
  calls: CallService;
  log: Logger;
  owner: string;
  leaseMs: number;
}

// Claim up to 64 due calls per round, and have at most 256 steps under way: a step is a read and
// a durable call write (a few ms each), and the rounds do not wait for them (see #round).
const BATCH = 64;
const MAX_IN_FLIGHT = 256;
// With nothing due, look again after 1 s anyway: another process may have added a timer.
const IDLE_MS = 1000;
// A step whose call's next step falls due within KEEP_MS is written with that timer leased to
// this engine, which plays it when due with the call as it wrote it: no claim, no read of the
// call in between (on PostgreSQL two round trips of the three a step of a simulated call with
// ring and talk times took, each p99 ~10–20 ms under load). The lease is short, KEEP_LEASE_MS:
// if this process dies, another engine takes the call over when it runs out, as it does a
// claimed timer's.
const KEEP_MS = 1000;
const KEEP_LEASE_MS = 10_000;

/**
 * Plays the durable timers of simulated calls (and the idle timeout of ingested ones). A timer
 * is claimed with a lease, so after a crash another run takes it over once the lease expires.
 */
export class Engine {
  readonly #d: EngineDeps;
  readonly #loop: Loop;
  /** the steps under way (claimed timers whose call is being advanced) */
  readonly #steps = new Set<Promise<void>>();
  /** when the loop sleeps until (clock time); null while a round runs */
  #sleepingUntil: number | null = null;
  /** the loop found no room for a step (MAX_IN_FLIGHT) and sleeps until one finishes */
  #full = false;
  /** the kept calls' next steps, waiting to fall due (see KEEP_MS) */
  readonly #kept = new Set<NodeJS.Timeout>();
  #stopping = false;

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

  /**
   * A timer was set for `dueAt`: wakes the loop only if it would sleep past it. Every call write
   * of a step sets its call's next timer, mostly later than the loop's own wake-up: a nudge each
   * would add a round (two statements) per step for nothing.
   */
  nudgeFor(dueAt: number): void {
    if (this.#sleepingUntil === null || dueAt < this.#sleepingUntil) this.#loop.nudge();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop.stop();
    for (const t of this.#kept) clearTimeout(t);
    this.#kept.clear();
    await Promise.allSettled([...this.#steps]);
    // the claimed timers and the kept ones: another engine may take them at once
    await this.#d.store.releaseTimers(this.#d.owner);
  }

  /**
   * One round: claims the due timers there is room for and starts their steps without waiting
   * for them. A round used to wait for all its steps: a timer that fell due meanwhile waited for
   * the slowest step of the round before it (a durable call write, p99 ~35 ms under load), and
   * in the PostgreSQL bench's fixed rate the timers fired p95 42 / p99 68–95 ms late. A step's
   * timer stays leased to this process while it runs, so no round claims it twice; a step that
   * fails leaves it leased, and it is played again when the lease runs out.
   */
  async #round(): Promise<number> {
    const { store, clock } = this.#d;
    this.#sleepingUntil = null;
    const room = Math.min(BATCH, MAX_IN_FLIGHT - this.#steps.size);
    if (room <= 0) {
      this.#full = true; // the first step to end with room nudges
      return this.#sleep(IDLE_MS);
    }
    const now = clock.now();
    const claims = await store.claimTimers(this.#d.owner, now, now + this.#d.leaseMs, room);
    for (const c of claims) this.#play(c.call_id, c.call);
    if (claims.length === room) return 0;
    const next = await store.nextTimerDue();
    return this.#sleep(next === null ? IDLE_MS : Math.min(IDLE_MS, Math.max(0, next - clock.now())));
  }

  /** Plays a call's due step (`known`: the call as this engine's last step wrote it, or as its claim read it). */
  #play(callId: string, known?: Call): void {
    const keep = { owner: this.#d.owner, leaseMs: Math.min(this.#d.leaseMs, KEEP_LEASE_MS), withinMs: KEEP_MS };
    const step: Promise<void> = this.#d.calls.advance(callId, keep, known)
      .then((kept) => {
        if (kept) this.#later(callId, kept);
      })
      .catch((err: unknown) => this.#d.log.error({ err, call_id: callId }, 'call step failed; retried when its lease expires'))
      .finally(() => {
        this.#steps.delete(step);
        // Not `size === MAX_IN_FLIGHT - 1`: a kept step started as this one ended can hold the
        // size at the top, and the loop slept a second between claims.
        if (this.#full && this.#steps.size < MAX_IN_FLIGHT) {
          this.#full = false;
          this.#loop.nudge();
        }
      });
    this.#steps.add(step);
  }

  /**
   * A kept call's next step, played when due (by the clock: a timer may fire a little early);
   * at once if it is due already — steps that fall due together then write together (the
   * store's group commit), where a timer of 1 ms each spread them over turns.
   */
  #later(callId: string, kept: Kept): void {
    if (this.#stopping) return; // released by stop()
    if (this.#d.clock.now() >= kept.due) return this.#play(callId, kept.call);
    const t = setTimeout(() => {
      this.#kept.delete(t);
      if (this.#d.clock.now() < kept.due) this.#later(callId, kept);
      else this.#play(callId, kept.call);
    }, Math.max(1, kept.due - this.#d.clock.now()));
    this.#kept.add(t);
  }

  #sleep(ms: number): number {
    this.#sleepingUntil = this.#d.clock.now() + ms;
    return ms;
  }
}
