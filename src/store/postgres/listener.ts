import pg from 'pg';

export interface ListenerOptions {
  connectionString: string;
  schema: string | undefined;
  channel: string;
  onWork: () => void;
}

// Reconnect after 100 ms, doubling to at most 10 s, with jitter so processes do not reconnect in step.
const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 10_000;

/**
 * A dedicated connection that LISTENs for "there is work" notifications. A hint only: the loops
 * poll regardless, so a dropped connection costs latency, never a delivery. After a reconnect it
 * calls onWork once, to pick up whatever was notified while it was away.
 */
export class Listener {
  readonly #o: ListenerOptions;
  #client: pg.Client | undefined;
  #closed = false;
  #backoff = MIN_BACKOFF_MS;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: ListenerOptions) {
    this.#o = o;
  }

  async start(): Promise<void> {
    await this.#connect().catch(() => this.#retry());
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#o.connectionString, keepAlive: true });
    client.on('notification', () => this.#o.onWork());
    client.on('error', () => {
      client.end().catch(() => undefined);
      if (this.#client === client) this.#client = undefined;
      this.#retry();
    });
    await client.connect();
    await client.query(`LISTEN ${this.#o.channel}`);
    if (this.#closed) {
      await client.end();
      return;
    }
    this.#client = client;
    this.#backoff = MIN_BACKOFF_MS;
    this.#o.onWork();
  }

  #retry(): void {
    if (this.#closed || this.#timer) return;
    const wait = this.#backoff * (0.5 + Math.random());
    this.#backoff = Math.min(MAX_BACKOFF_MS, this.#backoff * 2);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect().catch(() => this.#retry());
    }, wait);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#client?.end().catch(() => undefined);
  }
}
