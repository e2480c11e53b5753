/**
 * "There is work" for the other processes (LISTEN/NOTIFY), coalesced: at most one NOTIFY per
 * process every EVERY_MS, sent after the commit of the write that made the work, never inside it
 * (a call write's rides right behind it on its connection: store.ts #written).
 *
 * Before, every call write that made a delivery or a timer ran pg_notify inside its transaction:
 * a round trip more per write, and every commit woke every listening process for a claim round
 * and a timer round (about five writes per simulated call: ~500 NOTIFYs a second at 100 calls/s,
 * thousands at full speed).
 * Now the first hint after a quiet spell goes out at once and hints within the next EVERY_MS
 * share one NOTIFY at its end; a batch of writes whose deliveries all wait behind earlier events
 * ('queued') and which sets or moves no timer sends none (the process that settles the earlier
 * event promotes them and claims them in the same round). The hint is not the guarantee:
 * workers poll every second regardless.
 */
// 5 ms: at most 200 NOTIFYs a second per process, and at most 5 ms more before another process
// hears of work (the p99 target for event→receipt at 500 events/s is 50 ms).
export const EVERY_MS = 5;

export class Notifier {
  readonly #send: () => Promise<unknown>;
  #last = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** `send` runs the NOTIFY; its failures are dropped (a hint lost costs at most a poll interval). */
  constructor(send: () => Promise<unknown>) {
    this.#send = send;
  }

  hint(): void {
    if (this.mayFireNow()) {
      this.#send().catch(() => undefined);
      return;
    }
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#fire();
    }, Math.max(0, this.#last + EVERY_MS - performance.now())); // (negative: Node warns, TimeoutNegativeWarning)
    this.#timer.unref();
  }

  /**
   * Whether a NOTIFY may go out now, sent by the caller (counted as sent if so); if not, nothing
   * is scheduled: the caller hints once it knows there is work. A monotonic clock for the
   * spacing alone: no stored time depends on it.
   */
  mayFireNow(): boolean {
    if (this.#closed || this.#timer !== undefined || performance.now() - this.#last < EVERY_MS) return false;
    this.#last = performance.now();
    return true;
  }

  #fire(): void {
    if (this.#closed) return;
    this.#last = performance.now();
    this.#send().catch(() => undefined);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
