import { StrictMode, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError, api, live, session, type Call, type List } from './api.ts';
import { settingsPages } from './settings/index.tsx';
import './style.css';

/** Pages by hash (#/calls, #/calls/call_…): the server serves one HTML page for the console. */
function useRoute(): string {
  const [hash, setHash] = useState(location.hash.slice(1) || '/calls');
  useEffect(() => {
    const on = (): void => setHash(location.hash.slice(1) || '/calls');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function SignIn({ onIn }: { onIn: () => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    try {
      await api('GET', '/v1/calls?limit=1', undefined, key);
      session.set(key);
      onIn();
    } catch (err) {
      setError(err instanceof ApiError ? err.problem.detail : 'Hookline does not answer');
    }
  };
  return (
    <main className="signin">
      <h1>Hookline</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          API key
          <input type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} />
        </label>
        {error && <p role="alert" className="error">{error}</p>}
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}

const NAV = [
  ['Calls', '/calls'], ['Deliveries', '/deliveries'], ['Endpoints', '/endpoints'], ['Callback profiles', '/callback-profiles'],
  ['Webhooks', '/webhooks'], ['Subscriptions', '/subscriptions'], ['Call tracking', '/call-tracking'], ['Custom webhook', '/custom-webhook'],
] as const;

function PlaceTestCall({ onPlaced }: { onPlaced: (id: string) => void }) {
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ from: '+15550100', to: '+15550199', outcome: 'answer' });
  const [error, setError] = useState<string | null>(null);
  if (!open) return <button onClick={() => setOpen(true)}>Place test call</button>;
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    try {
      const call = await api<Call>('POST', '/v1/calls', { from: form.from, to: form.to, simulate: { outcome: form.outcome, ring_ms: 1000, talk_ms: 3000 } });
      setOpen(false);
      onPlaced(call.id);
    } catch (err) {
      setError(err instanceof ApiError ? err.problem.detail : String(err));
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} className="card">
      <label>From<input value={form.from} onChange={(e) => setForm({ ...form, from: e.target.value })} /></label>
      <label>To<input value={form.to} onChange={(e) => setForm({ ...form, to: e.target.value })} /></label>
      <label>
        Outcome
        <select value={form.outcome} onChange={(e) => setForm({ ...form, outcome: e.target.value })}>
          {['answer', 'busy', 'no-answer', 'failed'].map((o) => <option key={o}>{o}</option>)}
        </select>
      </label>
      {error && <p role="alert" className="error">{error}</p>}
      <button type="submit">Place call</button>
    </form>
  );
}

function Calls() {
  const [calls, setCalls] = useState<Call[]>([]);
  const load = (): void => void api<List<Call>>('GET', '/v1/calls?limit=50').then((l) => setCalls(l.data), () => undefined);
  useEffect(() => {
    load();
    // a new call or a call's new event: reload the page of calls
    return live((name) => name !== 'delivery.result' && load());
  }, []);
  return (
    <section>
      <h2>Calls</h2>
      <PlaceTestCall onPlaced={(id) => (location.hash = `/calls/${id}`)} />
      <table>
        <thead><tr><th>Call</th><th>From</th><th>To</th><th>Status</th><th>Outcome</th><th>Created</th></tr></thead>
        <tbody>
          {calls.map((c) => (
            <tr key={c.id}>
              <td><a href={`#/calls/${c.id}`}>{c.id}</a></td><td>{c.from}</td><td>{c.to}</td><td>{c.status}</td><td>{c.outcome ?? ''}</td><td>{c.created_at}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function CallPage({ id }: { id: string }) {
  const [call, setCall] = useState<Call | null>(null);
  const [results, setResults] = useState<Record<string, unknown>[]>([]);
  useEffect(() => {
    const load = (): void => void api<Call>('GET', `/v1/calls/${id}`).then(setCall, () => undefined);
    load();
    return live((name, data) => {
      if (name === 'delivery.result') setResults((r) => [...r, data]);
      else load();
    }, id);
  }, [id]);
  if (!call) return <p>Loading…</p>;
  return (
    <section>
      <h2>{call.id}</h2>
      <p>{call.from} → {call.to} · {call.status} {call.outcome ?? ''}</p>
      <h3>Timeline</h3>
      <ol className="timeline">
        {call.events.map((e) => <li key={e.seq}><code>{e.type}</code> {e.leg ?? ''} <time>{e.occurred_at}</time></li>)}
      </ol>
      <h3>Deliveries</h3>
      <ul>
        {results.map((r, i) => <li key={i}>{String(r.delivery_id)} → {String((r.target as { id: string }).id)}: {String(r.status)} {String(r.status_code ?? r.error ?? '')}</li>)}
      </ul>
    </section>
  );
}

function Placeholder({ title }: { title: string }) {
  return <section><h2>{title}</h2><p>Coming next: this page is not built yet; the API has it.</p></section>;
}

function settingsPage(route: string): ((props: { route: string }) => ReactNode) | undefined {
  const key = Object.keys(settingsPages).find((p) => route === p || route.startsWith(`${p}/`));
  return key === undefined ? undefined : settingsPages[key];
}

function App() {
  const [signedIn, setSignedIn] = useState(session.get() !== null);
  const route = useRoute();
  if (!signedIn) return <SignIn onIn={() => setSignedIn(true)} />;
  let page: ReactNode;
  const m = /^\/calls\/(.+)$/.exec(route);
  if (m) page = <CallPage id={m[1]!} />;
  else if (route === '/calls') page = <Calls />;
  else if (settingsPage(route)) page = settingsPage(route)!({ route });
  else page = <Placeholder title={NAV.find(([, href]) => href === route)?.[0] ?? 'Not found'} />;
  return (
    <>
      <nav>
        <strong>Hookline</strong>
        {NAV.map(([name, href]) => <a key={href} href={`#${href}`} aria-current={route.startsWith(href) ? 'page' : undefined}>{name}</a>)}
        <button onClick={() => { session.clear(); setSignedIn(false); }}>Sign out</button>
      </nav>
      <main>{page}</main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);
