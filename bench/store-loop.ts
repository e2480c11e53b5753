/**
 * `node bench/store-loop.ts [--deliveries N] [--per-commit K] [--repeat R] [--wal-pages]`: the SQLite store
 * alone, on one thread, doing workload (b)'s writes — each switch event its call's write (call
 * document, event, ingested id, idle timer, one delivery and its request), K of them per group
 * commit, then a claim of what is due and its results (attempt rows and settles) in the next.
 * Prints CPU µs per delivery (the checkpointer thread included: process CPU).
 *
 * `--wal-pages` keeps the WAL (no checkpoints) and prints, per table and index, the frames
 * (4 KB pages) it wrote per delivery and per commit: which B-trees the WAL's bytes go to.
 *
 * Why it exists: the full bench reads ±40 % between runs on this machine; this loop, with no
 * HTTP and one thread, reads within ~±10 %, so a change to the schema, the statements or the
 * group commit can be judged here first (README "Where the time goes").
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Call } from '../src/calls/model.ts';
import { newId } from '../src/ids.ts';
import type { AttemptResult, NewDelivery, SendRequest } from '../src/store/contract.ts';
import { SqliteStore } from '../src/store/sqlite/store.ts';

const { values } = parseArgs({ options: { deliveries: { type: 'string' }, 'per-commit': { type: 'string' }, repeat: { type: 'string' }, 'wal-pages': { type: 'boolean' } } });
const WAL_PAGES = values['wal-pages'] === true;
const N = Number(values.deliveries ?? 40_000);
const PER = Number(values['per-commit'] ?? 128);
const REPEAT = Number(values.repeat ?? 3);
const ACCOUNT = 'acct_loop';
const OWNER = 'loop';
const EVENTS_PER_CALL = 5;
// the size of a real delivery body of workload (b) (~980 B)
const BODY = JSON.stringify({ type: 'leg.answered', timestamp: new Date(0).toISOString(), data: { pad: 'x'.repeat(900) } });

function call(now: number, externalId: string): Call {
  return {
    id: newId('call', now), number: null, account_id: ACCOUNT, kind: 'inbound', direction: 'inbound', from: '+15550100001', to: '+15550100002',
    bridge: null, channel_id: null, flow_id: null, source: 'switch', status: 'accepted', outcome: null,
    created_at: now, started_at: null, answered_at: null, ended_at: null, duration: 0, recording_url: null,
    transcript: [], tracking: null, metadata: { loop: true }, legs: [], error_message: null,
    external_id: externalId, webhook_id: null, callback: null, driver_state: null, last_seq: 0, version: 0,
  };
}

function delivery(c: Call, seq: number, now: number): NewDelivery {
  return {
    id: newId('dlv', now), account_id: ACCOUNT, call_id: c.id, event_seq: seq, event_type: 'leg.answered', event_name: 'leg.answered',
    target_format: 'standard', target_id: 'ep_loop', order_key: 'ep_loop', created_at: now, next_attempt_at: now,
    request: { method: 'POST', url: 'http://127.0.0.1:9/hook', headers: { 'content-type': 'application/json', 'user-agent': 'Hookline' }, body: BODY },
  };
}

function success(d: { id: string; call_id: string; order_key: string; request: SendRequest }, now: number): AttemptResult {
  return {
    owner: OWNER, call_id: d.call_id, format: 'standard', order_key: d.order_key, status: 'succeeded', next_attempt_at: now,
    target: { id: 'ep_loop', account_id: ACCOUNT, success: true },
    attempt: {
      delivery_id: d.id, attempt: 1, started_at: now, duration_ms: 1, status_code: 200, error: null,
      request_head: '', request_tail: JSON.stringify({ method: 'POST', url: d.request.url, headers: { ...d.request.headers, 'webhook-id': d.id, 'webhook-timestamp': '0', 'webhook-signature': `v1,${'x'.repeat(44)}` } }),
      response_headers: { 'content-length': '2' }, response_excerpt: 'ok',
    },
  };
}

/** Bytes and write calls of this (the writing) thread so far, i.e. the WAL's frames (Linux; else 0). */
function mainIo(): { bytes: number; calls: number } {
  let io = '';
  try {
    io = readFileSync(`/proc/self/task/${process.pid}/io`, 'utf8');
  } catch {
    // not Linux
  }
  return { bytes: Number(/wchar: (\d+)/.exec(io)?.[1] ?? 0), calls: Number(/syscw: (\d+)/.exec(io)?.[1] ?? 0) };
}

async function once(): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'hookline-store-loop-'));
  const store = new SqliteStore(dir, { checkpoints: !WAL_PAGES });
  try {
    await store.migrate();
    const open = new Map<number, Call>();
    const cpu = process.cpuUsage();
    const io0 = mainIo();
    for (let n = 0; n < N;) {
      const writes: Promise<unknown>[] = [];
      for (let k = 0; k < PER && n < N; k++, n++) {
        const now = Date.now();
        const i = Math.floor(n / EVENTS_PER_CALL);
        const existing = open.get(i);
        const c = existing ?? call(now, `sw_${i}`);
        const expected = existing ? c.version : null;
        c.version += 1;
        c.last_seq += 1;
        open.set(i, c);
        if (c.last_seq === EVENTS_PER_CALL) open.delete(i);
        writes.push(store.writeCall({
          call: { ...c }, expected_version: expected, timer_due_at: now + 60_000, ingest_event_ids: [`ev_${n}`], ingest_seqs: [c.last_seq],
          events: [{ call_id: c.id, account_id: ACCOUNT, seq: c.last_seq, type: 'leg.answered', leg: null, occurred_at: now, data: {} }],
          deliveries: [delivery(c, c.last_seq, now)],
        }));
      }
      await Promise.all(writes);
      const now = Date.now();
      const claimed = await store.claimDeliveries(OWNER, now, now + 30_000, 1_000, { free: new Map(), fallback: 1_000 });
      if (claimed.length > 0) await store.recordAttempts(claimed.map((d) => success(d, now)), now);
    }
    const used = process.cpuUsage(cpu);
    const io1 = mainIo();
    if (WAL_PAGES) walPages(dir);
    console.log(`  WAL writes per delivery: ${((io1.bytes - io0.bytes) / N / 1024).toFixed(1)} KB in ${((io1.calls - io0.calls) / N).toFixed(1)} write calls`);
    return (used.user + used.system) / N;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The WAL's frames by the table or index their page belongs to (dbstat): each frame is one page
 * written by one commit (a 24-byte header — page number, and the database size on a commit's
 * last frame — then the page).
 */
function walPages(dir: string): void {
  const wal = readFileSync(path.join(dir, 'hookline.db-wal'));
  const pageSize = wal.readUInt32BE(8);
  const framesByPage = new Map<number, number>();
  let frames = 0;
  let commits = 0;
  for (let o = 32; o + 24 + pageSize <= wal.length; o += 24 + pageSize) {
    const page = wal.readUInt32BE(o);
    frames += 1;
    if (wal.readUInt32BE(o + 4) !== 0) commits += 1;
    framesByPage.set(page, (framesByPage.get(page) ?? 0) + 1);
  }
  const db = new DatabaseSync(path.join(dir, 'hookline.db'), { readOnly: true });
  const owner = new Map<number, string>();
  for (const r of db.prepare('SELECT name, pageno FROM dbstat').all()) owner.set(Number(r.pageno), String(r.name));
  db.close();
  const byName = new Map<string, { frames: number; pages: number }>();
  for (const [page, n] of framesByPage) {
    const name = owner.get(page) ?? '(freed)';
    const x = byName.get(name) ?? { frames: 0, pages: 0 };
    x.frames += n;
    x.pages += 1;
    byName.set(name, x);
  }
  console.log(`  WAL: ${frames} frames of ${pageSize} B in ${commits} commits: ${(frames / N).toFixed(2)} a delivery`);
  for (const [name, x] of [...byName].sort((a, b) => b[1].frames - a[1].frames)) {
    if (x.frames / N < 0.005) continue;
    console.log(`    ${name.padEnd(38)} ${(x.frames / N).toFixed(3)} a delivery, ${(x.frames / commits).toFixed(1)} a commit, ${x.pages} pages`);
  }
}

const runs: number[] = [];
for (let r = 0; r < REPEAT; r++) runs.push(await once());
const fmt = (x: number): string => x.toFixed(1);
console.log(`store loop: ${N} deliveries, ${PER} call writes per commit: CPU µs per delivery ${runs.map(fmt).join(' / ')} (median ${fmt(runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)]!)})`);
