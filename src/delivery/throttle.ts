import type { Slots } from '../store/contract.ts';
import { DEFAULT_CONCURRENCY } from '../targets/model.ts';

// Limits are remembered per target while it has requests in flight; past this many targets the
// idle ones are forgotten (learnt again from their settings on their next delivery).
const MAX_REMEMBERED_TARGETS = 10_000;
// This many failures in a row and the target is paused between attempts (a circuit breaker).
const STREAK = 3;
// The first pause; it doubles with every further failure, up to the first retry delay.
const FIRST_PAUSE_MS = 25;

/** What an attempt came to, as far as the target's health goes. */
export type Outcome = 'ok' | 'failed' | 'unreachable';

interface Health {
  /** fewer slots than configured, after timeouts, connection failures or failures in a row */
  reduced?: number;
  streak: number;
  /** performance.now() before which the target gets no new request */
  pausedUntil: number;
}

/**
 * How many requests each target may have in flight, adapting to how it answers, so that one
 * target's trouble never becomes everyone's:
 * - a timeout or connection failure halves its slots (down to 1); each answer gives one back
 *   (additive increase, multiplicative decrease): a dead host holds one request of the pool;
 * - after 3 failures in a row (any status that is not a success, or no answer) it is down to one
 *   slot and paused between attempts: 25 ms, doubling per further failure, at most the first
 *   retry delay. A target answering 500 at once then costs a few requests a second instead of
 *   thousands (bench --bad-targets: its retries took the healthy target's p99 ×5); a success
 *   closes the breaker. Meanwhile its due deliveries wait their turn, one attempt per pause:
 *   a target that stays down builds a backlog (isolated: claims never walk it) instead of
 *   burning through its deliveries' retries, until the failure window disables it.
 */
export class Throttle {
  readonly #limits = new Map<string, number>();
  readonly #health = new Map<string, Health>();
  readonly #maxPauseMs: number;

  constructor(firstRetryMs: number) {
    this.#maxPauseMs = Math.max(FIRST_PAUSE_MS, firstRetryMs);
  }

  /** the target's configured concurrency, once known */
  limit(key: string): number | undefined {
    return this.#limits.get(key);
  }

  learn(key: string, limit: number): void {
    this.#limits.set(key, limit);
  }

  /** slots the target may use now (0 while paused) */
  allowed(key: string, limit: number, now = performance.now()): number {
    const h = this.#health.get(key);
    if (!h) return limit;
    if (h.pausedUntil > now) return 0;
    return Math.min(limit, h.reduced ?? limit);
  }

  /** what each target may take in a claim, given what it has in flight */
  slots(inFlight: ReadonlyMap<string, number>): Slots {
    const now = performance.now();
    const free = new Map<string, number>();
    // Built every dispatcher round: only the targets that differ from the fallback (a limit of
    // their own, requests in flight, a pause or fewer slots), not every target ever seen.
    for (const [key, n] of this.#limits) if (n !== DEFAULT_CONCURRENCY) free.set(key, this.allowed(key, n, now));
    for (const [key, n] of inFlight) free.set(key, Math.max(0, this.allowed(key, this.#limits.get(key) ?? DEFAULT_CONCURRENCY, now) - n));
    for (const key of this.#health.keys()) if (!free.has(key)) free.set(key, this.allowed(key, DEFAULT_CONCURRENCY, now));
    return { free, fallback: DEFAULT_CONCURRENCY };
  }

  after(key: string, limit: number, outcome: Outcome): void {
    const known = this.#health.get(key);
    // a healthy target answering well has nothing to note (and no object per attempt to make)
    if (known === undefined && outcome === 'ok') return;
    const h = known ?? { streak: 0, pausedUntil: 0 };
    const slots = h.reduced ?? limit;
    if (outcome === 'ok') {
      h.streak = 0;
      h.pausedUntil = 0;
      h.reduced = slots + 1 >= limit ? undefined : slots + 1;
    } else {
      h.streak += 1;
      if (outcome === 'unreachable') h.reduced = Math.max(1, Math.floor(slots / 2));
      if (h.streak >= STREAK) {
        h.reduced = 1;
        h.pausedUntil = performance.now() + Math.min(this.#maxPauseMs, FIRST_PAUSE_MS * 2 ** (h.streak - STREAK));
      }
    }
    if (h.streak === 0 && h.reduced === undefined) this.#health.delete(key);
    else this.#health.set(key, h);
  }

  /** ms until the first paused target may be tried again, or null */
  nextResume(): number | null {
    const now = performance.now();
    let next: number | null = null;
    for (const h of this.#health.values()) if (h.pausedUntil > now && (next === null || h.pausedUntil < next)) next = h.pausedUntil;
    return next === null ? null : Math.ceil(next - now);
  }

  forgetIdle(inFlight: ReadonlyMap<string, number>): void {
    if (this.#limits.size <= MAX_REMEMBERED_TARGETS) return;
    for (const key of this.#limits.keys()) {
      if (inFlight.has(key) || this.#health.has(key)) continue;
      this.#limits.delete(key);
    }
  }
}
