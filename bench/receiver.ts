/**
 * The bench's webhook receiver, in its own process so that its work does not slow the process
 * being measured. Answers 200 at once, then records the request in the bucket of its phase:
 * Hookline deliveries carry the phase in the call's metadata (data.call.metadata.bench_phase),
 * the raw undici requests in a `bench-phase` header. Latency is event-to-receipt: Date.now()
 * here minus the event's occurred_at (same machine, same clock).
 *
 * Two more paths play bad targets for the isolation runs (`--bad-targets`, `--backlog`):
 * `/fail` answers 500 at once, `/hang` takes the request and never answers (the socket stays
 * open until the sender gives up). Their requests are counted in buckets of their own
 * (`fail:<phase>`, `hang:<phase>`), so they never mix with the healthy target's receipts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveParent, usage } from './ipc.ts';

interface Bucket {
  count: number;
  ids: Set<string>;
  duplicates: number;
  /** a call's seq went backwards: an in-order-per-call violation */
  out_of_order: number;
  first_at: number;
  last_at: number;
  bytes: number;
  latencies: number[];
  /** hookline-seq of each latency sample: later events of a call wait for the earlier ones */
  seqs: number[];
  /** receipt time of each latency sample: the isolation runs look at latency over time */
  ats: number[];
  lastSeq: Map<string, number>;
  unparsable: number;
  sample: string | undefined;
}

const buckets = new Map<string, Bucket>();

function bucket(phase: string): Bucket {
  let b = buckets.get(phase);
  if (!b) {
    b = { count: 0, ids: new Set(), duplicates: 0, out_of_order: 0, first_at: 0, last_at: 0, bytes: 0, latencies: [], seqs: [], ats: [], lastSeq: new Map(), unparsable: 0, sample: undefined };
    buckets.set(phase, b);
  }
  return b;
}

function record(headers: Record<string, string | string[] | undefined>, body: string, at: number, kind: string | null): void {
  let parsed: any;
  try {
    parsed = JSON.parse(body);
  } catch {
    bucket('unknown').unparsable += 1;
    return;
  }
  const phase = (headers['bench-phase'] as string | undefined) ?? parsed?.data?.call?.metadata?.bench_phase ?? 'unknown';
  const b = bucket(kind === null ? phase : `${kind}:${phase}`);
  b.count += 1;
  b.bytes += Buffer.byteLength(body);
  if (b.first_at === 0) b.first_at = at;
  b.last_at = at;
  b.sample ??= body;
  const id = headers['webhook-id'] as string | undefined;
  if (id !== undefined) {
    if (b.ids.has(id)) b.duplicates += 1;
    else b.ids.add(id);
  }
  const seq = Number(headers['hookline-seq']);
  const occurred = Date.parse(parsed?.data?.event?.occurred_at);
  if (Number.isFinite(occurred)) {
    b.latencies.push(at - occurred);
    b.seqs.push(Number.isFinite(seq) ? seq : 0);
    b.ats.push(at);
  }
  const callId = parsed?.data?.event?.call_id as string | undefined;
  if (callId !== undefined && Number.isFinite(seq)) {
    const last = b.lastSeq.get(callId);
    if (last !== undefined && seq < last) b.out_of_order += 1;
    else b.lastSeq.set(callId, seq);
  }
}

/** requests on /hang not answered yet: they end when the sender gives up and closes the socket */
let hanging = 0;

const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  const path = req.url ?? '/';
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    const body = Buffer.concat(chunks).toString('utf8');
    if (path.startsWith('/hang')) {
      hanging += 1;
      res.once('close', () => (hanging -= 1));
      record(req.headers, body, at, 'hang');
      return; // never answered
    }
    const fail = path.startsWith('/fail');
    // Answer before the bookkeeping: the sender's latency should not include our parsing.
    res.writeHead(fail ? 500 : 200, { 'content-type': 'text/plain', 'content-length': '2' }).end(fail ? 'no' : 'ok');
    record(req.headers, body, at, fail ? 'fail' : null);
  });
});
// A keep-alive socket may sit idle between phases; never let the server cut it under a sender.
server.headersTimeout = 60_000;
server.requestTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  serveParent({ url: `http://127.0.0.1:${port}` }, {
    /** counts for a phase; with {samples: true} also every latency sample and one body */
    stats({ phase, samples }: { phase: string; samples?: boolean }) {
      const b = bucket(phase);
      return {
        count: b.count,
        distinct: b.ids.size,
        duplicates: b.duplicates,
        out_of_order: b.out_of_order,
        unparsable: bucket('unknown').unparsable,
        first_at: b.first_at,
        last_at: b.last_at,
        avg_bytes: b.count > 0 ? Math.round(b.bytes / b.count) : 0,
        latencies: samples ? b.latencies : undefined,
        seqs: samples ? b.seqs : undefined,
        ats: samples ? b.ats : undefined,
        sample: samples ? b.sample : undefined,
      };
    },
    /** requests on /hang that are still open */
    hanging: () => hanging,
    usage,
    stop() {
      server.closeAllConnections();
      server.close();
      return true;
    },
  });
});
