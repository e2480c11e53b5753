/**
 * Deliveries: the log, newest first, with filters (status, target, event, call) kept in the URL
 * and cursor paging; live: a delivery result or a call event reloads the page shown.
 */
import { useEffect, useState, type ReactNode } from 'react';
import { live, type Delivery } from '../api.ts';
import { ErrorNote, Pager, Status, dateTime, go, shownTargetId, targetLabel, usePagedList, useTargets } from '../ui.tsx';

const EVENT_TYPES = ['call.accepted', 'leg.initiated', 'leg.ringing', 'leg.answered', 'call.transcript', 'call.error', 'call.ended'];

export function Deliveries({ query }: { query: URLSearchParams }): ReactNode {
  const filters = {
    status: query.get('status') ?? '', target_id: query.get('target_id') ?? '', event: query.get('event') ?? '', call_id: query.get('call_id') ?? '',
  };
  const targets = useTargets();
  const { page, error, cursors, setCursors, reload } = usePagedList<Delivery>('/v1/deliveries', filters);
  // the call id box shows the URL's again when the filters change (typed text not applied is dropped)
  const [callInput, setCallInput] = useState(filters.call_id);
  const key = JSON.stringify(filters);
  useEffect(() => setCallInput(filters.call_id), [key]);
  useEffect(() => live(() => reload(), filters.call_id || undefined), [reload, filters.call_id]);
  const filter = (k: keyof typeof filters) => (v: string) => go('/deliveries', { ...filters, [k]: v });
  const targetOptions = [...targets.values()];
  return (
    <section>
      <h2>Deliveries</h2>
      <form className="filters" aria-label="Filter deliveries" onSubmit={(e) => { e.preventDefault(); filter('call_id')(callInput.trim()); }}>
        <label>
          Status
          <select value={filters.status} onChange={(e) => filter('status')(e.target.value)}>
            <option value="">any</option>
            {['pending', 'delivering', 'succeeded', 'dead'].map((s) => <option key={s}>{s}</option>)}
          </select>
        </label>
        <label>
          Target
          <select value={filters.target_id} onChange={(e) => filter('target_id')(e.target.value)}>
            <option value="">any</option>
            {filters.target_id && !targets.has(filters.target_id) && <option value={filters.target_id}>{shownTargetId(filters.target_id)}</option>}
            {targetOptions.map((t) => <option key={t.id} value={t.id}>{t.kind}: {t.url ?? t.id}</option>)}
          </select>
        </label>
        <label>
          Event
          <select value={filters.event} onChange={(e) => filter('event')(e.target.value)}>
            <option value="">any</option>
            {filters.event && !EVENT_TYPES.includes(filters.event) && <option>{filters.event}</option>}
            {EVENT_TYPES.map((t) => <option key={t}>{t}</option>)}
          </select>
        </label>
        <label>Call id<input value={callInput} placeholder="call_…" onChange={(e) => setCallInput(e.target.value)} onBlur={() => callInput.trim() !== filters.call_id && filter('call_id')(callInput.trim())} /></label>
      </form>
      <ErrorNote error={error} />
      <table>
        <thead><tr><th>Delivery</th><th>Event</th><th>Target</th><th>Status</th><th>Answer</th><th>Attempts</th><th>Call</th><th>Updated</th></tr></thead>
        <tbody>
          {page?.data.map((d) => (
            <tr key={d.id}>
              <td><a href={`#/deliveries/${d.id}`}>{d.id}</a></td>
              <td><code>{d.event}</code>{d.event !== d.event_type && <div className="muted">{d.event_type}</div>}</td>
              <td>{targetLabel(d.target, targets)}<div className="muted">{d.target.format}</div></td>
              <td><Status value={d.status} />{d.waiting_for_earlier_event && <div className="muted">waits for an earlier event</div>}</td>
              <td>{d.last_status_code ?? d.last_error ?? ''}</td>
              <td>{d.attempt_count}</td>
              <td>{d.test ? 'test' : d.call_id ? <a href={`#/calls/${d.call_id}`}>{d.call_id}</a> : ''}</td>
              <td>{dateTime(d.updated_at)}</td>
            </tr>
          ))}
          {page?.data.length === 0 && <tr><td colSpan={8}>No deliveries{Object.values(filters).some(Boolean) ? ' match' : ' yet'}.</td></tr>}
        </tbody>
      </table>
      <Pager next={page?.next_cursor ?? null} cursors={cursors} onPage={setCursors} />
    </section>
  );
}
