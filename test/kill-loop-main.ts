/**
 * `npm run faults`: the long kill loop (kill-loop.ts). 20 SIGKILLs of the real CLI under 50
 * calls/s by default; prints each kill as it happens, then the figures as a table and as one JSON
 * line. Exits 1 if anything was lost, out of order, doubled or unaccounted for.
 *
 *   npm run faults -- [--kills N] [--rate CALLS_PER_S] [--interval S] [--ingest-share 0..1]
 *                     [--seed N] [--settle S] [--postgres] [--database-url URL] [--lease-ms MS]
 *
 * --postgres runs on a fresh database made on the server of --database-url (default
 * HOOKLINE_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres), dropped at the
 * end, on errors and on Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { createBenchDatabase, DEFAULT_ADMIN_URL, type BenchDatabase } from '../bench/pg.ts';
import { pgName } from './helpers.ts';
import { failures, formatReport, runKillLoop } from './kill-loop.ts';

const { values: v } = parseArgs({
  options: {
    kills: { type: 'string', default: '20' },
    rate: { type: 'string', default: '50' },
    interval: { type: 'string', default: '5' },
    'ingest-share': { type: 'string', default: '0.2' },
    seed: { type: 'string' },
    settle: { type: 'string', default: '120' },
    postgres: { type: 'boolean', default: false },
    'database-url': { type: 'string' },
    'lease-ms': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (v.help) {
  process.stdout.write('npm run faults -- [--kills N] [--rate CALLS_PER_S] [--interval S] [--ingest-share 0..1] [--seed N] ' +
    '[--settle S] [--postgres] [--database-url URL] [--lease-ms MS]\n');
  process.exit(0);
}

function num(name: string, s: string | undefined, min: number, max: number): number {
  const n = Number(s);
  if (s === undefined || !Number.isFinite(n) || n < min || n > max) {
    process.stderr.write(`--${name} must be a number from ${min} to ${max}\n`);
    process.exit(2);
  }
  return n;
}

const kills = num('kills', v.kills, 0, 1000);
const rate = num('rate', v.rate, 0.1, 2000);
const intervalMs = num('interval', v.interval, 0.2, 3600) * 1000;
const ingestShare = num('ingest-share', v['ingest-share'], 0, 1);
const settleMs = num('settle', v.settle, 1, 3600) * 1000;
const seed = v.seed === undefined ? undefined : num('seed', v.seed, 0, 2 ** 32 - 1);
const leaseMs = v['lease-ms'] === undefined ? undefined : num('lease-ms', v['lease-ms'], 100, 3_600_000);
const postgres = v.postgres || v['database-url'] !== undefined;

const abort = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write('\ninterrupted: cleaning up\n');
  abort.abort();
});

let db: BenchDatabase | undefined;
try {
  if (postgres) {
    db = await createBenchDatabase(v['database-url'] ?? (process.env.HOOKLINE_TEST_DATABASE_URL || DEFAULT_ADMIN_URL), pgName('hl_faults'));
  }
  process.stdout.write(`kill loop: ${kills} SIGKILLs, ${rate} calls/s, a kill every ~${intervalMs / 1000} s, on ${db ? `PostgreSQL (${db.name})` : 'SQLite'}\n`);
  const report = await runKillLoop({
    kills, rate, intervalMs, ingestShare, settleMs, seed, leaseMs, databaseUrl: db?.url, signal: abort.signal,
    log: (line) => process.stdout.write(`  ${line}\n`),
  });
  const bad = failures(report);
  process.stdout.write(`\n${formatReport(report)}\n\n`);
  const { samples, ...figures } = report;
  process.stdout.write(`${JSON.stringify(figures)}\n`);
  if (bad.length > 0) {
    process.stdout.write(`\nFAILED: ${bad.join('; ')}\n${samples.map((s) => `  ${s}`).join('\n')}\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write('\nOK: nothing lost, nothing out of order, every call ended once\n');
  }
} catch (err) {
  process.stderr.write(`kill loop failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  await db?.drop();
}
