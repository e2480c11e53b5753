/**
 * A sleep that a nudge cuts short. Loops (engine timers, dispatcher) sleep until their next due
 * time, and a write that makes work due sooner nudges them instead of making them poll.
 */
export class Waker {
  #timer: NodeJS.Timeout | undefined;
  #resolve: (() => void) | undefined;
  #pending = false;

  /** Resolves after `ms`, or at the next nudge; at once if a nudge came while awake. */
  wait(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#resolve = resolve;
      this.#timer = setTimeout(() => this.#wake(), Math.max(0, Math.min(ms, 2_147_483_000)));
    });
  }

  nudge(): void {
    if (this.#resolve) this.#wake();
    else this.#pending = true;
  }

  #wake(): void {
    clearTimeout(this.#timer);
    const r = this.#resolve;
    this.#resolve = undefined;
    this.#timer = undefined;
    r?.();
  }
}
