import { Counter, Histogram, type Registry } from 'prom-client';
import type { AttemptResult } from '../store/contract.ts';

/** Prometheus metrics of the delivery engine, registered on the service's registry. */
export class DeliveryMetrics {
  readonly #attempts: Counter<'format' | 'result'>;
  readonly #duration: Histogram<'format'>;

  constructor(registry: Registry) {
    this.#attempts = new Counter({
      name: 'hookline_delivery_attempts_total',
      help: 'Delivery attempts by format and result (succeeded, retry, dead)',
      labelNames: ['format', 'result'],
      registers: [registry],
    });
    this.#duration = new Histogram({
      name: 'hookline_delivery_attempt_seconds',
      help: 'Duration of delivery attempts',
      labelNames: ['format'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
      registers: [registry],
    });
  }

  attempt(r: AttemptResult): void {
    const format = r.format;
    this.#attempts.inc({ format, result: r.status === 'pending' ? 'retry' : r.status });
    this.#duration.observe({ format }, r.attempt.duration_ms / 1000);
  }
}
