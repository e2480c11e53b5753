/**
 * `npm run bench -- --sip`: calls per second through SIP (issue 13). SIPp plays the far end of
 * every call on 127.0.0.1 (bench/sip-uas.xml: 180, 200 at once, its BYE after --sip-hold ms);
 * Hookline (one process, SQLite, --sip-trunk pointing at SIPp) places the calls, and a native
 * endpoint here takes every event. The load is a closed loop of --concurrency calls: each slot
 * places a call (POST /v1/calls, no `simulate`: SIP) and places the next once that call's
 * call.ended is received. A warm-up, then the measured phase of --duration s.
 *
 * Reported: calls/s (call.ended received in the phase ÷ its length), event→receipt percentiles
 * (receipt time here minus the event's occurred_at, same clock), the concurrency reached (calls
 * placed and not yet ended, and calls answered and not yet ended, at their peak), outcomes, and
 * Hookline's CPU; the events missing (a call that ended without one of the five every call here
 * has) and what the kernel dropped on Hookline's SIP socket (bench/sip-socket.ts). Written to
 * .bench/sip-<timestamp>.json.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CallApi, round } from './load.ts';
import type { Opts } from './options.ts';
import { API_KEY, log, sleep } from './phase.ts';
import { watchSipSocket } from './sip-socket.ts';
import { summarize, type Summary } from './stats.ts';
import { Topology } from './topology.ts';

const WARMUP_S = 3;
const EVENTS = ['call.accepted', 'leg.initiated', 'leg.ringing', 'leg.answered', 'call.ended'];

interface Tally {
  ended: number;
  /** receipt time of each call.ended */
  endedAt: number[];
  latencies: number[];
  endedLatencies: number[];
  outcomes: Record<string, number>;
  placed: number;
  failedPosts: number;
  /** placed, but no call.ended received within 30 s */
  lost: number;
  firstError: string | null;
  inFlight: number;
  peakInFlight: number;
  answered: number;
  peakAnswered: number;
  deliveries: number;
  byType: Record<string, number>;
}

const tally = (): Tally => ({
  ended: 0, endedAt: [], latencies: [], endedLatencies: [], outcomes: {}, placed: 0, failedPosts: 0, lost: 0, firstError: null,
  inFlight: 0, peakInFlight: 0, answered: 0, peakAnswered: 0, deliveries: 0, byType: {},
});

/** The endpoint: records each event of the current phase and wakes the slot whose call ended. */
class Receiver {
  readonly #server: Server;
  readonly #waiting = new Map<string, () => void>();
  readonly #ended = new Set<string>();
  phases = new Map<string, Tally>();
  url = '';

  constructor() {
    this.#server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const at = Date.now();
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok');
        this.#record(Buffer.concat(chunks).toString('utf8'), at);
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  #record(body: string, at: number): void {
    const b = JSON.parse(body) as { type: string; data: { event: { call_id: string; occurred_at: string }; call: { outcome: string | null; metadata: { bench_phase?: string } | null } } };
    const t = this.phases.get(b.data.call.metadata?.bench_phase ?? '');
    if (!t) return;
    t.deliveries += 1;
    t.byType[b.type] = (t.byType[b.type] ?? 0) + 1;
    const latency = at - Date.parse(b.data.event.occurred_at);
    t.latencies.push(latency);
    if (b.type === 'leg.answered') t.peakAnswered = Math.max(t.peakAnswered, ++t.answered);
    if (b.type !== 'call.ended') return;
    t.answered -= 1;
    t.ended += 1;
    t.endedAt.push(at);
    t.endedLatencies.push(latency);
    const outcome = b.data.call.outcome ?? 'none';
    t.outcomes[outcome] = (t.outcomes[outcome] ?? 0) + 1;
    const id = b.data.event.call_id;
    const wake = this.#waiting.get(id);
    if (wake) {
      this.#waiting.delete(id);
      wake();
    } else this.#ended.add(id);
  }

  /** resolves once the call's call.ended is received (or `ms` passed: false) */
  ended(id: string, ms: number): Promise<boolean> {
    if (this.#ended.delete(id)) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        resolve(false);
      }, ms);
      this.#waiting.set(id, () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  close(): void {
    this.#server.closeAllConnections();
    this.#server.close();
  }
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** SIPp as the UAS on 127.0.0.1 (UDP), until killed. */
async function startSipp(holdMs: number): Promise<{ port: number; kill: () => void; output: () => string }> {
  const port = await freeUdpPort();
  const scenario = fileURLToPath(new URL('./sip-uas.xml', import.meta.url));
  const child = spawn('sipp', ['-sf', scenario, '-i', '127.0.0.1', '-p', String(port), '-t', 'u1', '-d', String(holdMs), '-nostdin', '-nd', '-l', '100000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => (out = (out + b.toString()).slice(-4000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  process.on('exit', () => child.kill('SIGKILL'));
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    if (execFileSync('ss', ['-Hlun', `sport = :${port}`]).toString().trim() !== '') break;
    await sleep(100);
  }
  if (child.exitCode !== null) throw new Error(`sipp exited at once (is sip-tester installed?): ${out}`);
  return { port, kill: () => child.kill('SIGKILL'), output: () => out };
}

/** `concurrency` slots placing calls one after another for `seconds`; answers once every call placed has ended. */
async function phase(api: CallApi, rx: Receiver, name: string, seconds: number, concurrency: number): Promise<Tally & { duration_s: number; started_at: number }> {
  const t = tally();
  rx.phases.set(name, t);
  const body = { from: '+15550100001', to: '+15550100002', ring_timeout_s: 10, metadata: { bench_phase: name } };
  const startedAt = Date.now();
  const end = startedAt + seconds * 1000;
  const slot = async (): Promise<void> => {
    while (Date.now() < end) {
      t.peakInFlight = Math.max(t.peakInFlight, ++t.inFlight);
      t.placed += 1;
      let id: string | undefined;
      try {
        const r = await api.json('POST', '/v1/calls', body);
        if (r.status === 201) id = r.body.id as string;
        else t.firstError ??= `HTTP ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`;
      } catch (err) {
        t.firstError ??= String(err);
      }
      if (id === undefined) t.failedPosts += 1;
      else if (!(await rx.ended(id, 30_000))) {
        t.lost += 1;
        t.firstError ??= `call ${id}: no call.ended within 30 s`;
      }
      t.inFlight -= 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, slot));
  const last = t.endedAt.at(-1) ?? Date.now();
  return { ...t, duration_s: round((last - startedAt) / 1000, 2), started_at: startedAt };
}

export async function sipBench(o: Opts, ctx: { stamp: string; dataDir: string; profDir: string; onTopology: (t: Topology) => void }): Promise<void> {
  const loadBefore = round(loadavg()[0]!, 2);
  const sipp = await startSipp(o.sipHoldMs);
  const rx = new Receiver();
  await rx.listen();
  const sipListen = `127.0.0.1:${await freeUdpPort()}`;
  const hl = new Topology({
    postgres: false, workers: 1, cpuProf: o.cpuProf, profDir: ctx.profDir, dataDir: ctx.dataDir, apiKey: API_KEY, stamp: ctx.stamp, log,
    extraArgs: ['--sip-trunk', `sip:127.0.0.1:${sipp.port}`, '--sip-listen', sipListen],
  });
  ctx.onTopology(hl);
  let apiPool: CallApi | undefined;
  try {
    await hl.start();
    log(`sipp (UAS, hold ${o.sipHoldMs} ms) on 127.0.0.1:${sipp.port}; hookline ${hl.api.info.url}, SIP ${sipListen}`);
    apiPool = new CallApi(hl.api.info.url, API_KEY, Math.min(o.concurrency, 128));
    const ep = await apiPool.json('POST', '/v1/endpoints', { url: `${rx.url}/hook` });
    if (ep.status !== 201) throw new Error(`endpoint: ${JSON.stringify(ep.body)}`);
    const [sipHost, sipPort] = sipListen.split(':') as [string, string];
    const socket = watchSipSocket(sipHost, Number(sipPort));
    const warmupS = o.quick ? 1 : WARMUP_S;
    log(`warm-up: ${warmupS} s, ${o.concurrency} calls in flight`);
    await phase(apiPool, rx, 'warmup', warmupS, o.concurrency);
    const cpu0 = await hl.api.ask<number>('usage');
    log(`measured: ${o.durationS} s, ${o.concurrency} calls in flight`);
    const m = await phase(apiPool, rx, 'sip', o.durationS, o.concurrency);
    const cpuMs = (await hl.api.ask<number>('usage')) - cpu0;
    const kernel = socket.stop();
    // Every call here (answered, then SIPp's BYE) has these five events: one short is one missing.
    const missing = Object.fromEntries(EVENTS.map((t) => [t, m.ended - (m.byType[t] ?? 0)]).filter(([, n]) => n !== 0));
    const result = {
      at: new Date().toISOString(),
      machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? null, node: process.version, load_avg_before: loadBefore, load_avg_after: round(loadavg()[0]!, 2) },
      options: { duration_s: o.durationS, concurrency: o.concurrency, hold_ms: o.sipHoldMs },
      calls_placed: m.placed, calls_ended: m.ended, failed_posts: m.failedPosts, lost: m.lost, first_error: m.firstError, outcomes: m.outcomes,
      calls_per_s: round(m.ended / m.duration_s, 1), duration_s: m.duration_s, deliveries: m.deliveries, events_per_call: m.ended > 0 ? round(m.deliveries / m.ended, 2) : null, events_by_type: m.byType,
      events_missing: missing, sip_socket: kernel,
      peak_in_flight: m.peakInFlight, peak_answered: m.peakAnswered,
      latency_ms: summarize(m.latencies), call_ended_latency_ms: summarize(m.endedLatencies),
      hookline_cpu_per_call_ms: m.ended > 0 ? round(cpuMs / m.ended, 2) : null, hookline_cpu_cores: round(cpuMs / 1000 / m.duration_s, 2),
    };
    print(result);
    const outDir = fileURLToPath(new URL('../.bench', import.meta.url));
    mkdirSync(outDir, { recursive: true });
    const file = path.join(outDir, `sip-${ctx.stamp}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    log(`results written to ${path.relative(process.cwd(), file)}`);
  } finally {
    await apiPool?.close().catch(() => undefined);
    await hl.stop();
    rx.close();
    sipp.kill();
  }
}

function print(r: { calls_per_s: number; calls_ended: number; duration_s: number; latency_ms: Summary; call_ended_latency_ms: Summary } & Record<string, unknown>): void {
  const ms = (s: Summary) => `p50 ${s.p50} / p95 ${s.p95} / p99 ${s.p99} / max ${s.max} ms (${s.n} events)`;
  console.log(`
SIP calls through Hookline against SIPp (UDP, 127.0.0.1)
  calls/s              ${r.calls_per_s}  (${r.calls_ended} calls ended in ${r.duration_s} s; outcomes ${JSON.stringify(r.outcomes)})
  events               ${JSON.stringify(r.events_by_type)}; missing ${JSON.stringify(r.events_missing)}
  SIP socket (kernel)  ${JSON.stringify(r.sip_socket)} (warm-up included; rcvbuf_errors: the whole machine)
  concurrency reached  ${String(r.peak_in_flight)} calls placed and not ended; ${String(r.peak_answered)} answered at once
  event→receipt        ${ms(r.latency_ms)}
  call.ended→receipt   ${ms(r.call_ended_latency_ms)}
  Hookline CPU         ${String(r.hookline_cpu_per_call_ms)} ms per call, ${String(r.hookline_cpu_cores)} cores
  failed / lost        ${String(r.failed_posts)} / ${String(r.lost)}${r.first_error ? ` (first: ${String(r.first_error)})` : ''}
  machine load         ${JSON.stringify(r.machine)}
`);
}
