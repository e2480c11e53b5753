/**
 * Small pieces the console's pages share: the hash route, a loader that live events re-run
 * (coalesced, never a timer), the account's targets by id, and a few display helpers.
 */
import { redactUrl } from '../delivery/redact.ts';
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError, api, type List } from './api.ts';

/** The page's hash route: `#/calls/call_…?status=ended` → path `/calls/call_…`, query. */
export function useRoute(): string {
  const [hash, setHash] = useState(location.hash.slice(1) || '/calls');
  useEffect(() => {
    const on = (): void => setHash(location.hash.slice(1) || '/calls');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

export function splitRoute(route: string): { path: string; query: URLSearchParams } {
  const i = route.indexOf('?');
  return i < 0 ? { path: route, query: new URLSearchParams() } : { path: route.slice(0, i), query: new URLSearchParams(route.slice(i + 1)) };
}

/** Goes to `path` with the non-empty `query` values (filters live in the URL: a page can be shared and reloaded). */
export function go(path: string, query: Record<string, string | undefined> = {}): void {
  const q = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => !!e[1]));
  location.hash = q.size ? `${path}?${q}` : path;
}

/**
 * Runs `load` now, again whenever `deps` change, and whenever the returned `reload` is called (a
 * live event came), one run at a time: calls during a run make one more run after it, not one
 * each. Each run takes the latest `load` (a filter changed during a run: the run after it loads
 * the new one), and `reload` itself never changes, so a live subscription that calls it is made
 * once, not again on every change (events in between were missed).
 */
export function useReloader(load: () => Promise<void>, deps: unknown[]): () => void {
  const state = useRef({ running: false, again: false, alive: true });
  const latest = useRef(load);
  latest.current = load;
  const reload = useCallback((): void => {
    const s = state.current;
    if (s.running) {
      s.again = true;
      return;
    }
    s.running = true;
    void (async () => {
      do {
        s.again = false;
        try {
          await latest.current();
        } catch {
          // the next event or a reload tries again
        }
      } while (s.again && s.alive);
      s.running = false;
    })();
  }, []);
  useEffect(() => {
    state.current.alive = true;
    return () => {
      state.current.alive = false;
    };
  }, []);
  useEffect(reload, deps);
  return reload;
}

/**
 * The page shown of a cursor-paged list (25 rows) under `filters`, back to the first page when
 * the filters change. `reload` is useReloader's (for live events); `cursors` and `setCursors`
 * drive the Pager.
 */
export function usePagedList<T>(path: string, filters: Record<string, string>) {
  const [cursors, setCursors] = useState<string[]>([]);
  const [page, setPage] = useState<List<T> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const key = JSON.stringify(filters);
  useEffect(() => setCursors([]), [key]);
  const cursor = cursors[cursors.length - 1];
  const reload = useReloader(async () => {
    const q = new URLSearchParams(Object.entries({ ...filters, limit: '25', cursor: cursor ?? '' }).filter(([, v]) => v !== ''));
    try {
      setPage(await api<List<T>>('GET', `${path}?${q}`));
      setError(null);
    } catch (err) {
      setError(errorText(err));
    }
  }, [path, key, cursor]);
  return { page, error, cursors, setCursors, reload };
}

/** Every page of a list (at most `max` rows). */
export async function listAll<T>(path: string, query: Record<string, string> = {}, max = 1000): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ ...query, limit: '100', ...(cursor ? { cursor } : {}) });
    const page: List<T> = await api<List<T>>('GET', `${path}?${q}`);
    out.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor !== null && out.length < max);
  return out;
}

export interface TargetInfo {
  id: string;
  kind: string;
  url: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  /** the settings page it is edited on */
  href: string;
}

const TARGET_LISTS: [kind: string, path: string, href: string][] = [
  ['Endpoint', '/v1/endpoints', '#/endpoints'],
  ['Callback profile', '/v1/callback-profiles', '#/callback-profiles'],
  ['Webhook', '/v1/webhooks', '#/webhooks'],
  ['Subscription', '/v1/subscriptions', '#/subscriptions'],
  ['Call tracking webhook', '/v1/call-tracking/webhooks', '#/call-tracking'],
];

interface TargetRow { id: string; url?: string | null; name?: string; enabled: boolean; disabled_reason: string | null }

/** The account's targets of every format, by id (`reload` after a change). */
export async function loadTargets(): Promise<Map<string, TargetInfo>> {
  const map = new Map<string, TargetInfo>();
  await Promise.all(TARGET_LISTS.map(async ([kind, path, href]) => {
    const rows = await listAll<TargetRow>(path, {}, 500).catch(() => []);
    for (const r of rows) map.set(r.id, { id: r.id, kind, url: r.url ?? null, enabled: r.enabled, disabled_reason: r.disabled_reason, href });
  }));
  return map;
}

export function useTargets(): Map<string, TargetInfo> {
  const [targets, setTargets] = useState(new Map<string, TargetInfo>());
  useEffect(() => {
    let alive = true;
    void loadTargets().then((m) => alive && setTargets(m));
    return () => {
      alive = false;
    };
  }, []);
  return targets;
}

/** A target as people know it: its URL (or format and id) and kind. */
/**
 * A target id as the console shows it: a per-call callback URL (`url:…`) with its secret-looking
 * query values redacted, as the delivery log shows that URL (it may carry a token).
 */
export function shownTargetId(id: string): string {
  return id.startsWith('url:') ? `url:${redactUrl(id.slice(4))}` : id;
}

export function targetLabel(target: { format: string; id: string }, targets: Map<string, TargetInfo>): string {
  const t = targets.get(target.id);
  return t?.url ? t.url : `${target.format} ${shownTargetId(target.id)}`;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return `${d.toLocaleTimeString(undefined, { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '';
  return `${new Date(iso).toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${time(iso)}`;
}

export function Status({ value }: { value: string | null | undefined }): ReactNode {
  if (!value) return null;
  return <span className={`status status-${value}`}>{value}</span>;
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.problem.detail;
  return err instanceof Error ? err.message : String(err);
}

export function ErrorNote({ error }: { error: string | null }): ReactNode {
  return error ? <p role="alert" className="error">{error}</p> : null;
}

/** Previous/next over cursor pages: `cursors` is the stack of cursors of the pages before. */
export function Pager({ next, cursors, onPage }: { next: string | null; cursors: string[]; onPage: (cursors: string[]) => void }): ReactNode {
  return (
    <div className="pager">
      <button disabled={cursors.length === 0} onClick={() => onPage(cursors.slice(0, -1))}>Previous page</button>
      <span>Page {cursors.length + 1}</span>
      <button disabled={next === null} onClick={() => next && onPage([...cursors, next])}>Next page</button>
    </div>
  );
}
