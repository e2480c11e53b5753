/**
 * `npm run bench`: how fast Hookline turns calls into webhooks, next to how fast undici alone can
 * POST to the same receiver, and how fast job queues do the same work, in the same run.
 *
 *   receiver (child) ← raw undici POSTs from this process                  → the ceiling, req/s
 *   receiver (child) ← BullMQ / graphile-worker worker (child) ← jobs       → the peers
 *   receiver (child) ← Hookline (child) ← POST /v1/call-events, /v1/calls  → deliveries/s, latency
 *
 * With --postgres, "Hookline" is one --role api process (the calls go there) and N --role worker
 * processes on a fresh PostgreSQL database (bench/topology.ts). The phases are bench/throughput.ts's.
 * Results are printed as a table and written to .bench/results-<timestamp>.json. Only 127.0.0.1
 * is contacted (Redis on 6379 for the BullMQ peer and, with --postgres, the server of
 * HOOKLINE_BENCH_DATABASE_URL, by default PostgreSQL on 127.0.0.1:5432).
 *
 * --bad-targets and --backlog N are isolation runs instead (bench/isolation.ts), written to
 * .bench/bad-targets-<timestamp>.json and .bench/backlog-<timestamp>.json. --sip is calls/s through
 * SIP against SIPp (bench/sip.ts), written to .bench/sip-<timestamp>.json.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuMeter } from './cpu.ts';
import { startChild, type Child } from './ipc.ts';
import { backlog, badTargets, ISOLATION_TARGETS, type IsolationContext } from './isolation.ts';
import { CallApi, round } from './load.ts';
import { parse, UsageError, USAGE } from './options.ts';
import { API_KEY, log } from './phase.ts';
import { perfAvailable } from './perf.ts';
import { printTop, summarizeProfile } from './profile-summary.ts';
import { printBacklog, printBadTargets } from './report.ts';
import { sipBench } from './sip.ts';
import { printThroughput } from './summary.ts';
import { throughput } from './throughput.ts';
import { Topology } from './topology.ts';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

/** the run's Hookline processes, for the Ctrl-C handler */
let topology: Topology | undefined;

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const noPerf = o.perf ? perfAvailable() : null;
  if (noPerf) throw new UsageError(`--perf: ${noPerf}`);
  // Other work on the machine skews every number here: say so rather than report it silently.
  const loadBefore = round(loadavg()[0]!, 2);
  if (loadBefore > availableParallelism() * 0.25) log(`warning: load average is ${loadBefore} before the run; other processes will skew the numbers`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = path.resolve(here('..'), '.bench');
  const profDir = path.join(outDir, `profile-${stamp}`);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'hookline-bench-'));
  process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  if (o.mode === 'sip') return sipBench(o, { stamp, dataDir, profDir, onTopology: (t) => (topology = t) });
  const extraArgs = [...(o.retrySchedule === null ? [] : ['--retry-schedule', o.retrySchedule]), ...(o.threads === null ? [] : ['--threads', String(o.threads)])];
  const hl = new Topology({ ...o, profDir, dataDir, apiKey: API_KEY, stamp, log, extraArgs });
  topology = hl;
  let rx: Child<{ url: string }> | undefined;
  let c: IsolationContext | undefined;
  try {
    rx = await startChild<{ url: string }>('receiver', here('./receiver.ts'), []);
    log(`receiver ${rx.info.url}`);
    await hl.start();
    const connect = () => ({
      api: new CallApi(hl.api.info.url, API_KEY, 64),
      meter: new CpuMeter([...hl.children, rx!], hl.database ? () => hl.database!.cpu() : undefined),
    });
    c = {
      ...connect(), rx, hl, dataDir, durationS: o.durationS, rate: o.rate, concurrency: o.concurrency, quick: o.quick,
      async restart(apiOnly: boolean) {
        await this.api.close();
        await hl.restart(apiOnly);
        Object.assign(this, connect());
      },
    };
    const common = {
      at: new Date().toISOString(),
      machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? null, node: process.version, platform: process.platform, load_avg_before: loadBefore },
      options: o, hookline_args: extraArgs, backend: hl.backend, workers: o.postgres ? o.workers : null, topology: hl.describe(),
      postgres: (await hl.database?.settings().catch(() => null)) ?? null,
    };
    let results: Record<string, unknown>;
    if (o.mode === 'bad-targets') {
      results = { ...common, bad_targets: await badTargets(c), targets: ISOLATION_TARGETS };
      printBadTargets(results);
    } else if (o.mode === 'backlog') {
      results = { ...common, backlog: await backlog(c, o.backlog!), targets: ISOLATION_TARGETS };
      printBacklog(results);
    } else {
      results = { ...common, ...(await throughput(c, o, stamp.toLowerCase().replace(/[^a-z0-9]/g, ''))) };
      printThroughput(results);
    }
    mkdirSync(outDir, { recursive: true });
    const file = path.join(outDir, `${o.mode === 'standard' ? 'results' : o.mode}-${stamp}.json`);
    writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
    log(`results written to ${path.relative(process.cwd(), file)}`);
  } finally {
    await c?.api.close().catch(() => undefined);
    await hl.stop();
    await rx?.stop();
  }
  if (o.cpuProf) {
    // node names a profile CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile: the pid says whose it is.
    const byPid = new Map(hl.children.map((c) => [String(c.proc.pid), c.name]));
    for (const f of readdirSync(profDir).filter((x) => x.endsWith('.cpuprofile')).sort()) {
      const who = byPid.get(f.split('.')[3] ?? '') ?? 'a Hookline process';
      log(`CPU profile of ${who}: ${path.relative(process.cwd(), path.join(profDir, f))}`);
      printTop(summarizeProfile(path.join(profDir, f)), 25);
    }
  }
}

// Ctrl-C: kill the Hookline processes and drop the PostgreSQL database, then exit; the exit hooks
// kill the other children and remove the temp dir. A second Ctrl-C exits at once.
let interrupted = false;
const interrupt = (signal: string) => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log(`${signal}: stopping`);
  const t = setTimeout(() => process.exit(130), 15_000);
  void (topology?.kill() ?? Promise.resolve()).finally(() => {
    clearTimeout(t);
    process.exit(130);
  });
};
process.on('SIGINT', () => interrupt('SIGINT'));
process.on('SIGTERM', () => interrupt('SIGTERM'));
main().catch((err: unknown) => {
  if (interrupted) return; // the children were killed under us: the interrupt handler exits
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`bench: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  console.error('bench failed:', err);
  process.exit(1);
});
