/**
 * A peer's worker, in its own process as Hookline's dispatcher is in its own: takes one job per
 * event from the peer's queue and POSTs the job's body to the bench receiver with undici, as
 * Hookline's sender does (keep-alive Agent; a non-2xx answer fails the job, which the queue then
 * retries on its backoff).
 *
 *   node bench/peer-worker.ts bullmq   <receiver url> <redis host:port> <queue name> <concurrency>
 *   node bench/peer-worker.ts graphile <receiver url> <database url>    -            <concurrency>
 *
 * The producer is the bench parent (bench/peers.ts): with the peers the application enqueues,
 * the queue's worker delivers.
 */
import { Agent, request } from 'undici';
import { serveParent, usage } from './ipc.ts';

export interface PeerJob {
  /** the delivery body, rendered by the producer (Hookline renders at enqueue too) */
  body: string;
  /** unique per event: the receiver counts duplicates by it */
  id: string;
  /** the event's seq in its call: the receiver counts out-of-order arrivals by it */
  seq: number;
  phase: string;
}

const [kind, receiverUrl, where, queueName, concurrencyArg] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
if ((kind !== 'bullmq' && kind !== 'graphile') || !receiverUrl || !where || !queueName || !(concurrency >= 1)) {
  throw new Error('usage: peer-worker.ts bullmq|graphile <receiver url> <redis host:port | database url> <queue | -> <concurrency>');
}
// As Hookline's Sender: keep-alive, up to 128 connections per origin.
const agent = new Agent({ keepAliveTimeout: 10_000, connections: 128 });
const target = `${receiverUrl}/peer`;

async function deliver(job: PeerJob): Promise<void> {
  const res = await request(target, {
    method: 'POST', dispatcher: agent, body: job.body,
    headers: { 'content-type': 'application/json', 'webhook-id': job.id, 'hookline-seq': String(job.seq), 'bench-phase': job.phase },
  });
  await res.body.dump();
  if (res.statusCode < 200 || res.statusCode > 299) throw new Error(`receiver answered ${res.statusCode}`);
}

let close: () => Promise<void>;
let describe: Record<string, unknown>;
if (kind === 'bullmq') {
  const { Worker } = await import('bullmq');
  const [host, port] = where.split(':');
  const worker = new Worker<PeerJob>(queueName, (job) => deliver(job.data), {
    // maxRetriesPerRequest null: what BullMQ requires of a worker's blocking connection
    connection: { host, port: Number(port), maxRetriesPerRequest: null },
    concurrency,
  });
  await worker.waitUntilReady();
  close = () => worker.close();
  describe = { concurrency };
} else {
  const { Logger, run } = await import('graphile-worker');
  // Its info lines (one per worker start, per job failure) would interleave with the bench's output.
  const logger = new Logger(() => (level, message) => {
    if (level === 'error') process.stderr.write(`graphile-worker: ${message}\n`);
  });
  // Its documentation's throughput settings (worker.graphile.org/docs/performance): a local
  // queue that locks a batch of jobs per fetch, and completions (and failures) batched into one
  // statement; a pool of concurrency + 1 connections as in its performance configuration.
  const preset = { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } };
  const runner = await run({
    connectionString: where, concurrency, maxPoolSize: concurrency + 1, noHandleSignals: true, pollInterval: 1000,
    taskList: { deliver: (payload) => deliver(payload as PeerJob) },
    logger, preset,
  });
  close = () => runner.stop();
  describe = { concurrency, max_pool_size: concurrency + 1, ...preset.worker };
}

serveParent({ kind, ...describe }, {
  usage,
  rss: () => process.memoryUsage.rss(),
  async stop() {
    await close();
    await agent.close();
    return true;
  },
});
