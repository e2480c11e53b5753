/**
 * Overview of the last hour, computed from the public lists (there is no aggregate route): calls
 * and deliveries per minute, and per target its success rate and p95 latency over the attempts
 * of the hour, failing and disabled targets first. Live events reload it, at most every 3 s.
 */
import { useEffect, useState, type ReactNode } from 'react';
import { api, live, type Call, type Delivery, type List } from '../api.ts';
import { ErrorNote, errorText, listAll, loadTargets, shownTargetId, type TargetInfo, useReloader } from '../ui.tsx';

const HOUR = 3600_000;
const MINUTE = 60_000;
/** rows read at most per list: beyond that the page says it counted a sample */
const MAX_ROWS = 3000;

interface TargetStats {
  id: string;
  format: string;
  info: TargetInfo | undefined;
  deliveries: number;
  succeeded: number;
  dead: number;
  attempts: number;
  okAttempts: number;
  p95: number | null;
  lastError: string | null;
}

interface Stats {
  since: number;
  calls: number[];
  deliveries: number[];
  targets: TargetStats[];
  truncated: boolean;
}

/** The deliveries created since `since` (the log is newest first: stop at the first older one). */
async function recentDeliveries(since: number): Promise<{ rows: Delivery[]; truncated: boolean }> {
  const rows: Delivery[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ limit: '100', ...(cursor ? { cursor } : {}) });
    const page: List<Delivery> = await api<List<Delivery>>('GET', `/v1/deliveries?${q}`);
    for (const d of page.data) {
      if (Date.parse(d.created_at) < since) return { rows, truncated: false };
      rows.push(d);
    }
    cursor = page.next_cursor;
  } while (cursor !== null && rows.length < MAX_ROWS);
  return { rows, truncated: cursor !== null };
}

function perMinute(times: number[], since: number): number[] {
  const buckets = new Array<number>(60).fill(0);
  for (const t of times) {
    const i = Math.floor((t - since) / MINUTE);
    if (i >= 0 && i < 60) buckets[i]!++;
  }
  return buckets;
}

function p95(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!;
}

async function loadStats(): Promise<Stats> {
  const since = Date.now() - HOUR;
  const [calls, { rows: deliveries, truncated }, targets] = await Promise.all([
    listAll<Call>('/v1/calls', { created_after: new Date(since).toISOString() }, MAX_ROWS),
    recentDeliveries(since),
    loadTargets(),
  ]);
  const by = new Map<string, TargetStats>();
  const latencies = new Map<string, number[]>();
  const blank = (id: string, format: string): TargetStats => ({
    id, format, info: targets.get(id), deliveries: 0, succeeded: 0, dead: 0, attempts: 0, okAttempts: 0, p95: null, lastError: null,
  });
  for (const t of targets.values()) by.set(t.id, blank(t.id, t.kind));
  for (const d of deliveries) {
    const s = by.get(d.target.id) ?? blank(d.target.id, d.target.format);
    by.set(d.target.id, s);
    s.format = d.target.format;
    s.deliveries++;
    if (d.status === 'succeeded') s.succeeded++;
    if (d.status === 'dead') s.dead++;
    for (const a of d.attempts) {
      if (Date.parse(a.started_at) < since) continue;
      s.attempts++;
      const ok = a.status_code !== null && a.status_code >= 200 && a.status_code < 300;
      if (ok) s.okAttempts++;
      else s.lastError ??= a.status_code !== null ? `HTTP ${a.status_code}` : a.error;
      const l = latencies.get(d.target.id) ?? [];
      l.push(a.duration_ms);
      latencies.set(d.target.id, l);
    }
  }
  for (const s of by.values()) s.p95 = p95(latencies.get(s.id) ?? []);
  const rank = (s: TargetStats): number => (s.info && !s.info.enabled ? 0 : s.dead > 0 || (s.attempts > 0 && s.okAttempts < s.attempts) ? 1 : 2);
  const rate = (s: TargetStats): number => (s.attempts ? s.okAttempts / s.attempts : 1);
  const list = [...by.values()].sort((a, b) => rank(a) - rank(b) || rate(a) - rate(b) || b.deliveries - a.deliveries);
  return {
    since,
    calls: perMinute(calls.map((c) => Date.parse(c.created_at)), since),
    deliveries: perMinute(deliveries.map((d) => Date.parse(d.created_at)), since),
    targets: list,
    truncated: truncated || calls.length >= MAX_ROWS,
  };
}

function Bars({ label, values }: { label: string; values: number[] }): ReactNode {
  const max = Math.max(1, ...values);
  const total = values.reduce((a, b) => a + b, 0);
  return (
    <figure className="bars-figure">
      <figcaption>{label}: {total} in the hour, {values[values.length - 1] ?? 0} in the last minute</figcaption>
      <div className="bars" role="img" aria-label={`${label}, one bar per minute`}>
        {values.map((v, i) => <span key={i} style={{ height: `${(v / max) * 100}%` }} title={`${60 - i} min ago: ${v}`} />)}
      </div>
    </figure>
  );
}

export function Overview(): ReactNode {
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useReloader(async () => {
    try {
      setStats(await loadStats());
      setError(null);
    } catch (err) {
      setError(errorText(err));
    }
    // live events arrive by the hundred on a busy account: count again at most every 3 s
    await new Promise((r) => setTimeout(r, 3000));
  }, []);
  useEffect(() => live(() => reload()), [reload]);
  return (
    <section>
      <h2>Overview</h2>
      <p className="muted">The last hour{stats?.truncated ? ` (the newest ${MAX_ROWS} of each list)` : ''}.</p>
      <ErrorNote error={error} />
      {stats && (
        <>
          <div className="two">
            <Bars label="Calls per minute" values={stats.calls} />
            <Bars label="Deliveries per minute" values={stats.deliveries} />
          </div>
          <h3>Targets</h3>
          <table aria-label="Targets in the last hour">
            <thead><tr><th>Target</th><th>State</th><th>Deliveries</th><th>Success rate</th><th>p95 latency</th><th>A failure</th></tr></thead>
            <tbody>
              {stats.targets.map((s) => (
                <tr key={s.id} className={s.info && !s.info.enabled ? 'row-disabled' : s.dead || s.okAttempts < s.attempts ? 'row-failing' : undefined}>
                  <td>{s.info?.url ?? shownTargetId(s.id)}<div className="muted">{s.info?.kind ?? s.format}</div></td>
                  <td>{s.info && !s.info.enabled ? <span className="bad">disabled{s.info.disabled_reason ? `: ${s.info.disabled_reason}` : ''}</span> : 'enabled'}</td>
                  {/* a per-call URL's id may carry a token: not put in the address bar (and the browser's history) */}
                  <td>{s.id.startsWith('url:') ? s.deliveries : <a href={`#/deliveries?target_id=${encodeURIComponent(s.id)}`}>{s.deliveries}</a>}{s.dead ? <span className="bad"> ({s.dead} dead)</span> : null}</td>
                  <td>{s.attempts ? `${Math.round((s.okAttempts / s.attempts) * 1000) / 10} %` : '—'}<div className="muted">{s.attempts} attempts</div></td>
                  <td>{s.p95 === null ? '—' : `${s.p95} ms`}</td>
                  <td>{s.lastError ?? ''}</td>
                </tr>
              ))}
              {stats.targets.length === 0 && <tr><td colSpan={6}>No targets yet.</td></tr>}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
