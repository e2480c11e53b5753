/** `npm run bench` options: usage text and parsing. */
import { parseArgs } from 'node:util';
import { ConfigError, parseRetrySchedule } from '../src/config.ts';
import { DEFAULT_ADMIN_URL } from './pg.ts';

// Retries within seconds: the 500-answering target's retries pile up during one phase, as they
// would over hours with the default schedule.
const BAD_TARGETS_SCHEDULE = '0.1,0.2,0.5,1,1,1,1,1';

export const USAGE = `usage: npm run bench -- [--duration S] [--rate N] [--events N] [--full-speed S] [--concurrency N]
                      [--repeat N] [--no-peers] [--quick] [--cpu-prof] [--perf] [--node-args=F] [--threads N | --postgres [--workers N]]
                      [--bad-targets | --backlog N] [--retry-schedule S]
       npm run bench -- --sip [--duration S] [--concurrency N] [--sip-hold MS] [--quick]

  One run, one receiver: the raw undici ceiling; a BullMQ peer (Redis on 127.0.0.1:6379, skipped
  if none answers); Hookline on (b) switch events in batched POST /v1/call-events and (a) simulated
  calls through POST /v1/calls at full speed; then a fixed rate. With --postgres also a
  graphile-worker peer on the same PostgreSQL server. Hookline's endpoint and the peers' workers
  all have 64 deliveries in flight.

  --duration S     seconds of the fixed-rate phase (default 30; with --bad-targets 20 per phase,
                   with --backlog the full-speed phases, default 10)
  --rate N         events/s of the fixed-rate phase; each call makes 5 events (default 1000 on
                   SQLite, 500 with --postgres; 500 in the isolation runs)
  --events N       events of workload (b) and jobs of each peer (default 50000)
  --full-speed S   seconds of workload (a) at full speed (default 10)
  --concurrency N  in-flight API requests of workload (a) at full speed (default 48)
  --repeat N       rounds of ceiling, peers and (b), alternating; each one's best counts (default 2:
                   a shared machine's other load comes and goes; --quick: 1)
  --no-peers       leave out BullMQ and graphile-worker (e.g. with --cpu-prof)
  --quick          short phases (2 s, 5,000 events, ceiling 1 s): a smoke check, not a measurement
  --cpu-prof       profile the Hookline processes (node --cpu-prof) and print their top functions
  --perf           Linux perf on the Hookline processes during (b)'s first round: each thread's time
                   by kind of work (SQLite, kernel, GC, JSON, JavaScript…), native frames included
  --node-args=F    Node/V8 flags for the Hookline processes only, space separated, after an =
                   (e.g. --node-args=--single-threaded-gc): an experiment, not what \`hookline serve\` runs
  --postgres       PostgreSQL instead of SQLite: a fresh database on the server of
                   HOOKLINE_BENCH_DATABASE_URL (default ${DEFAULT_ADMIN_URL}),
                   dropped at the end; one --role api process takes the calls
  --workers N      with --postgres: --role worker processes that run the engine and deliver (default 1)
  --threads N      SQLite: Hookline's --threads (2: engine and dispatcher on a thread of their own)

Isolation (two phases compared in one run on one database; no ceiling, no other phases):
  --bad-targets    event→receipt latency of a healthy endpoint at --rate, first alone, then with
                   two more endpoints of the account taking every event: one that never answers,
                   one that answers 500 (retried on --retry-schedule, default ${BAD_TARGETS_SCHEDULE})
  --backlog N      full-speed deliveries/s of a healthy endpoint and Hookline's RSS, first without,
                   then with N due deliveries waiting for an endpoint that never answers
                   (e.g. --backlog 100000)
  --retry-schedule S  Hookline's --retry-schedule (seconds, comma separated)

SIP (bench/sip.ts; needs sipp, Debian sip-tester): calls/s through SIP against SIPp answering on
127.0.0.1, with event→receipt percentiles and the concurrency reached; no other phases.
  --sip            --concurrency calls in flight (default 200), each held --sip-hold ms by SIPp
                   (default 200) and hung up by its BYE; --duration s measured (default 20)

One run per backend, then the README's table:
  npm run bench && npm run bench -- --postgres
  node bench/compare.ts     # the latest result of each setup as a markdown table`;

export type Mode = 'standard' | 'bad-targets' | 'backlog' | 'sip';

export interface Opts {
  mode: Mode;
  /** the fixed-rate phase (standard run); the phases of the isolation runs */
  durationS: number;
  /** workload (a) at full speed, standard run */
  fullSpeedS: number;
  /** workload (b) events, and jobs per peer */
  events: number;
  /** run the BullMQ (and with --postgres the graphile-worker) peer */
  peers: boolean;
  /** rounds of ceiling, peers and (b); the best of each is reported */
  repeat: number;
  ceilingS: number;
  rate: number;
  concurrency: number;
  quick: boolean;
  cpuProf: boolean;
  /** --perf: Linux perf during (b)'s first round (bench/perf.ts) */
  perf: boolean;
  postgres: boolean;
  workers: number;
  /** --backlog: due deliveries to build for the hanging endpoint */
  backlog: number | null;
  /** passed to Hookline as --retry-schedule; null: Hookline's default */
  retrySchedule: string | null;
  /** passed to Hookline as --threads (SQLite: 2 = engine and dispatcher on a thread of their own); null: Hookline's default */
  threads: number | null;
  /** --sip: how long SIPp holds each call before its BYE */
  sipHoldMs: number;
  /** --node-args: Node/V8 flags for the Hookline processes only */
  nodeArgs: string[];
}

export class UsageError extends Error {}

export function parse(argv: string[]): Opts {
  const { values } = parseArgs({
    args: argv, strict: true, allowPositionals: false,
    options: {
      duration: { type: 'string' }, rate: { type: 'string' }, concurrency: { type: 'string' }, quick: { type: 'boolean' },
      'cpu-prof': { type: 'boolean' }, perf: { type: 'boolean' }, postgres: { type: 'boolean' }, workers: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      'bad-targets': { type: 'boolean' }, backlog: { type: 'string' }, 'retry-schedule': { type: 'string' },
      events: { type: 'string' }, 'full-speed': { type: 'string' }, 'no-peers': { type: 'boolean' }, repeat: { type: 'string' },
      threads: { type: 'string' }, sip: { type: 'boolean' }, 'sip-hold': { type: 'string' }, 'node-args': { type: 'string' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.workers !== undefined && !values.postgres) {
    throw new UsageError('--workers needs --postgres: on SQLite Hookline is one process (--role all), its database a file only it writes.');
  }
  if (values.threads !== undefined && values.threads !== '1' && values.threads !== '2') throw new UsageError(`--threads: expected 1 or 2, got "${values.threads}"`);
  if (values.threads !== undefined && values.postgres) throw new UsageError('--threads is for SQLite (--role all); with --postgres the roles are processes');
  if (values['bad-targets'] && values.backlog !== undefined) throw new UsageError('--bad-targets and --backlog are separate runs: give one of them');
  if (values.perf && (values.sip || values['bad-targets'] || values.backlog !== undefined)) throw new UsageError('--perf profiles workload (b) of the standard run');
  const num = (name: string, v: string | undefined, dflt: number, min: number, max: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name}: expected a number from ${min} to ${max}, got "${v}"`);
    return n;
  };
  if (values.sip && (values.postgres || values['bad-targets'] || values.backlog !== undefined)) throw new UsageError('--sip is a run of its own (SQLite): not with --postgres, --bad-targets or --backlog');
  const mode: Mode = values.sip ? 'sip' : values['bad-targets'] ? 'bad-targets' : values.backlog !== undefined ? 'backlog' : 'standard';
  const quick = values.quick ?? false;
  if (values.workers !== undefined && !/^\d+$/.test(values.workers)) throw new UsageError(`--workers: expected a whole number, got "${values.workers}"`);
  if (values.backlog !== undefined && !/^\d+$/.test(values.backlog)) throw new UsageError(`--backlog: expected a whole number of deliveries, got "${values.backlog}"`);
  // A bad target's backlog must have time to grow: the isolation phases run longer.
  const durationS = num('duration', values.duration, mode === 'bad-targets' || mode === 'sip' ? (quick ? 3 : 20) : mode === 'standard' ? (quick ? 3 : 30) : quick ? 2 : 10, 0.5, 300);
  let retrySchedule = values['retry-schedule'] ?? (mode === 'bad-targets' ? BAD_TARGETS_SCHEDULE : null);
  if (retrySchedule !== null) {
    try {
      parseRetrySchedule(retrySchedule);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(`--retry-schedule: ${err.message}`);
      throw err;
    }
    retrySchedule = retrySchedule.replace(/\s+/g, '');
  }
  return {
    mode, durationS, quick, cpuProf: values['cpu-prof'] ?? false, perf: values.perf ?? false,
    ceilingS: quick ? 1 : Math.min(5, durationS),
    fullSpeedS: num('full-speed', values['full-speed'], quick ? 2 : 10, 0.5, 120),
    events: Math.round(num('events', values.events, quick ? 5_000 : 50_000, 1_000, 1_000_000)),
    peers: !(values['no-peers'] ?? false),
    repeat: Math.round(num('repeat', values.repeat, quick ? 1 : 2, 1, 10)),
    // SQLite's target is at 1,000 events/s, PostgreSQL's at 500 (issue 10); the isolation runs keep 500.
    rate: num('rate', values.rate, mode === 'standard' && !values.postgres ? 1000 : 500, 5, 50_000),
    concurrency: Math.round(num('concurrency', values.concurrency, mode === 'sip' ? 200 : 48, 1, mode === 'sip' ? 5000 : 512)),
    postgres: values.postgres ?? false,
    workers: num('workers', values.workers, 1, 1, 16),
    backlog: values.backlog === undefined ? null : num('backlog', values.backlog, 0, 1, 1_000_000),
    retrySchedule,
    threads: values.threads === undefined ? null : Number(values.threads),
    sipHoldMs: Math.round(num('sip-hold', values['sip-hold'], 200, 0, 600_000)),
    nodeArgs: values['node-args']?.trim().split(/\s+/).filter((a) => a !== '') ?? [],
  };
}
