import type { Logger } from 'pino';
import { Waker } from './waker.ts';

// After a failed round (the database away, say), wait this long before the next.
const ERROR_WAIT_MS = 1000;

/**
 * A background loop: runs `round` again and again; each round answers how long to sleep before
 * the next (0: go on at once), and a nudge cuts the sleep short. The engine's timers and the
 * dispatcher both run on it.
 */
export class Loop {
  readonly #waker = new Waker();
  readonly #name: string;
  readonly #log: Logger;
  readonly #round: () => Promise<number>;
  #running = false;
  #done: Promise<void> | undefined;

  constructor(name: string, log: Logger, round: () => Promise<number>) {
    this.#name = name;
    this.#log = log;
    this.#round = round;
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#done = this.#run();
  }

  nudge(): void {
    this.#waker.nudge();
  }

  /** Stops after the round under way; resolves when it has finished. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#waker.nudge();
    await this.#done;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let wait: number;
      try {
        wait = await this.#round();
      } catch (err) {
        this.#log.error({ err }, `${this.#name} round failed`);
        wait = ERROR_WAIT_MS;
      }
      if (wait > 0 && this.#running) await this.#waker.wait(wait);
    }
  }
}
