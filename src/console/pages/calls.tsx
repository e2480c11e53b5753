/**
 * Calls: the list with filters (status, outcome, direction, kind, numbers, the switch's call id,
 * creation time) and cursor paging, live
 * (a call event reloads the page shown); "Place test call" places a simulated call.
 */
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { api, live, type Call } from '../api.ts';
import { ErrorNote, Pager, Status, dateTime, errorText, go, usePagedList } from '../ui.tsx';

const OUTCOMES = ['answer', 'busy', 'no-answer', 'failed'] as const;

export function PlaceTestCall({ onPlaced }: { onPlaced: (id: string) => void }): ReactNode {
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ from: '+15550100', to: '+15550199', outcome: 'answer', ring: '1', talk: '3' });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (!open) return <button onClick={() => setOpen(true)}>Place test call</button>;
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const simulate = { outcome: form.outcome, ring_ms: Math.round(Number(form.ring) * 1000), talk_ms: Math.round(Number(form.talk) * 1000) };
      const call = await api<Call>('POST', '/v1/calls', { from: form.from, to: form.to, simulate });
      setOpen(false);
      onPlaced(call.id);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} className="card" aria-label="Test call">
      <p className="hint">A simulated outbound call: its events go to your targets like a real call's.</p>
      <div className="row">
        <label>From<input value={form.from} onChange={set('from')} required /></label>
        <label>To<input value={form.to} onChange={set('to')} required /></label>
      </div>
      <div className="row">
        <label>
          Outcome
          <select value={form.outcome} onChange={set('outcome')}>
            {OUTCOMES.map((o) => <option key={o}>{o}</option>)}
          </select>
        </label>
        <label>Ring seconds<input type="number" min="0" step="0.1" value={form.ring} onChange={set('ring')} /></label>
        <label>Talk seconds<input type="number" min="0" step="0.1" value={form.talk} onChange={set('talk')} /></label>
      </div>
      <ErrorNote error={error} />
      <div className="row">
        <button type="submit" disabled={busy}>Place call</button>
        <button type="button" onClick={() => setOpen(false)}>Cancel</button>
      </div>
    </form>
  );
}

/** A text filter: applied when the field is left or Enter is pressed ('' is any). */
function Typed({ label, value, placeholder, onChange }: { label: string; value: string; placeholder?: string; onChange: (v: string) => void }): ReactNode {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const apply = (): void => {
    if (text.trim() !== value) onChange(text.trim());
  };
  return (
    <label>
      {label}
      <input value={text} placeholder={placeholder} onChange={(e) => setText(e.target.value)} onBlur={apply} onKeyDown={(e) => e.key === 'Enter' && apply()} />
    </label>
  );
}

/** A select of the list's filters; '' is any. */
function Pick({ label, value, options, onChange }: { label: string; value: string; options: readonly string[]; onChange: (v: string) => void }): ReactNode {
  return (
    <label>
      {label}
      {/* named by its label alone: its options' text (click_to_call) would match other labels' searches */}
      <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">any</option>
        {options.map((o) => <option key={o}>{o}</option>)}
      </select>
    </label>
  );
}

const localInput = (iso: string | null): string => {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
const fromLocalInput = (v: string): string | undefined => (v ? new Date(v).toISOString() : undefined);

export function Calls({ query }: { query: URLSearchParams }): ReactNode {
  const filters = {
    status: query.get('status') ?? '', outcome: query.get('outcome') ?? '', direction: query.get('direction') ?? '', kind: query.get('kind') ?? '',
    from: query.get('from') ?? '', to: query.get('to') ?? '', external_id: query.get('external_id') ?? '',
    created_after: query.get('created_after') ?? '', created_before: query.get('created_before') ?? '',
  };
  const { page, error, cursors, setCursors, reload } = usePagedList<Call>('/v1/calls', filters);
  // a new call or a call's new event: reload the page shown
  useEffect(() => live((name) => (name === 'call.event' || name === 'reset') && reload()), [reload]);
  const filter = (k: keyof typeof filters) => (v: string | undefined) => go('/calls', { ...filters, [k]: v });
  return (
    <section>
      <h2>Calls</h2>
      <PlaceTestCall onPlaced={(id) => go(`/calls/${id}`)} />
      <form className="filters" aria-label="Filter calls" onSubmit={(e) => e.preventDefault()}>
        <Pick label="Status" value={filters.status} options={['accepted', 'initiated', 'ringing', 'answered', 'ended']} onChange={filter('status')} />
        <Pick label="Result" value={filters.outcome} options={['completed', 'no-answer', 'busy', 'failed', 'cancelled']} onChange={filter('outcome')} />
        <Pick label="Direction" value={filters.direction} options={['outbound', 'inbound']} onChange={filter('direction')} />
        <Pick label="Kind" value={filters.kind} options={['outbound', 'click_to_call', 'inbound']} onChange={filter('kind')} />
        <Typed label="Caller" value={filters.from} placeholder="+1…" onChange={filter('from')} />
        <Typed label="Called" value={filters.to} placeholder="+1…" onChange={filter('to')} />
        <Typed label="Switch call id" value={filters.external_id} placeholder="external_id" onChange={filter('external_id')} />
        <label>Created after<input type="datetime-local" value={localInput(filters.created_after)} onChange={(e) => filter('created_after')(fromLocalInput(e.target.value))} /></label>
        <label>Created before<input type="datetime-local" value={localInput(filters.created_before)} onChange={(e) => filter('created_before')(fromLocalInput(e.target.value))} /></label>
      </form>
      <ErrorNote error={error} />
      <table>
        <thead><tr><th>Call</th><th>Kind</th><th>From</th><th>To</th><th>Status</th><th>Result</th><th>Events</th><th>Created</th></tr></thead>
        <tbody>
          {page?.data.map((c) => (
            <tr key={c.id}>
              <td><a href={`#/calls/${c.id}`}>{c.id}</a></td>
              <td>{c.kind === c.direction ? c.kind : `${c.kind.replaceAll('_', ' ')} (${c.direction})`}</td>
              <td>{c.from}</td>
              <td>{c.to}</td>
              <td><Status value={c.status} /></td>
              <td>{c.outcome ?? ''}</td>
              <td>{c.events.length}</td>
              <td>{dateTime(c.created_at)}</td>
            </tr>
          ))}
          {page?.data.length === 0 && <tr><td colSpan={8}>No calls{cursors.length || Object.values(filters).some(Boolean) ? ' match' : ' yet: place a test call'}.</td></tr>}
        </tbody>
      </table>
      <Pager next={page?.next_cursor ?? null} cursors={cursors} onPage={setCursors} />
    </section>
  );
}
