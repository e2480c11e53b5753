/**
 * What both backends decide alike.
 *
 * Reaping: a claim first hands back deliveries whose lease ran out (their process died), but at
 * most once a second — a lease runs for seconds, so looking more often finds nothing new, and
 * the reap statement is the one part of a claim that scans by lease time.
 */
const REAP_EVERY_MS = 1000;

export class ReapPolicy {
  #last = 0;

  /** true when this claim should reap first; a clock that went back counts as due */
  due(now: number): boolean {
    if (now - this.#last < REAP_EVERY_MS && now >= this.#last) return false;
    this.#last = now;
    return true;
  }
}
