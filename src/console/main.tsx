import { StrictMode, useState, type FormEvent, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError, api, session } from './api.ts';
import { CallPage } from './pages/call.tsx';
import { Calls } from './pages/calls.tsx';
import { Deliveries } from './pages/deliveries.tsx';
import { DeliveryPage } from './pages/delivery.tsx';
import { Overview } from './pages/overview.tsx';
import { settingsPages } from './settings/index.tsx';
import { splitRoute, useRoute } from './ui.tsx';
import './style.css';

/*
 * Pages by hash (#/calls, #/calls/call_…, #/deliveries?status=dead): the server serves one HTML
 * page for the console. Filters live in the hash's query.
 */

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
  ['Overview', '/overview'], ['Calls', '/calls'], ['Deliveries', '/deliveries'], ['Endpoints', '/endpoints'], ['Callback profiles', '/callback-profiles'],
  ['Webhooks', '/webhooks'], ['Subscriptions', '/subscriptions'], ['Call tracking', '/call-tracking'], ['Custom webhook', '/custom-webhook'],
] as const;

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
  const { path, query } = splitRoute(route);
  let page: ReactNode;
  let m: RegExpExecArray | null;
  if ((m = /^\/calls\/([^/]+)$/.exec(path))) page = <CallPage key={m[1]} id={m[1]!} />;
  else if (path === '/calls') page = <Calls query={query} />;
  else if ((m = /^\/deliveries\/([^/]+)$/.exec(path))) page = <DeliveryPage key={m[1]} id={m[1]!} />;
  else if (path === '/deliveries') page = <Deliveries query={query} />;
  else if (path === '/overview') page = <Overview />;
  else if (settingsPage(route)) page = settingsPage(route)!({ route });
  else page = <Placeholder title={NAV.find(([, href]) => href === path)?.[0] ?? 'Not found'} />;
  return (
    <>
      <nav>
        <strong>Hookline</strong>
        {NAV.map(([name, href]) => <a key={href} href={`#${href}`} aria-current={path === href || path.startsWith(`${href}/`) ? 'page' : undefined}>{name}</a>)}
        <button onClick={() => { session.clear(); setSignedIn(false); }}>Sign out</button>
      </nav>
      <main>{page}</main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);
