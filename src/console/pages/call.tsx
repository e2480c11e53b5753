/**
 * A call's page: its id, legs and event timeline, and the call × target grid (per event, every
 * target's delivery: status, answer, when), all live from GET /v1/stream filtered to the call: a
 * call event reloads the call, a call event or delivery result reloads its deliveries. Hang up
 * and add a transcript line from here.
 */
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { api, live, type Call, type Delivery } from '../api.ts';
import { ErrorNote, Status, dateTime, errorText, listAll, shownTargetId, targetLabel, time, useReloader, useTargets, type TargetInfo } from '../ui.tsx';

/** A SIP leg's last status and its dialog's Call-ID (the view spreads the driver's leg details in). */
function sipOf(l: Call['legs'][number]): string {
  const x = l as Record<string, unknown>;
  if (x.sip_call_id === undefined) return '';
  const status = x.sip_status === null || x.sip_status === undefined ? '' : `${String(x.sip_status)} ${String(x.sip_reason ?? '')}`.trim();
  return [status, String(x.sip_call_id)].filter(Boolean).join(' · ');
}

function Legs({ call }: { call: Call }): ReactNode {
  const sip = call.legs.some((l) => sipOf(l) !== '');
  return (
    <table aria-label="Legs">
      <thead><tr><th>Leg</th><th>Number</th><th>Status</th><th>Result</th><th>Initiated</th><th>Ringing</th><th>Answered</th><th>Ended</th>{sip && <th>SIP</th>}</tr></thead>
      <tbody>
        {call.legs.map((l) => (
          <tr key={l.name}>
            <td>{l.name}</td><td>{l.number}</td><td><Status value={l.status} /></td><td>{l.outcome ?? ''}</td>
            <td>{time(l.initiated_at)}</td><td>{time(l.ringing_at)}</td><td>{time(l.answered_at)}</td><td>{time(l.ended_at)}</td>
            {sip && <td>{sipOf(l)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Timeline({ call }: { call: Call }): ReactNode {
  return (
    <ol className="timeline" aria-label="Timeline">
      {call.events.map((e) => (
        <li key={e.seq}>
          <time>{time(e.occurred_at)}</time> <code>{e.type}</code>
          {e.leg ? <span className="muted"> leg {e.leg}</span> : null}
          {e.outcome ? <span className="muted"> {e.outcome}</span> : null}
          {typeof e.message === 'string' ? <q>{e.speaker ? `${e.speaker}: ` : ''}{e.message}</q> : null}
        </li>
      ))}
    </ol>
  );
}

function Cell({ d, target }: { d: Delivery | undefined; target: string }): ReactNode {
  if (!d) return <td className="muted" data-target={target}>—</td>;
  const answer = d.last_status_code ?? d.last_error ?? '';
  return (
    <td data-status={d.status} data-target={target}>
      <a href={`#/deliveries/${d.id}`}><Status value={d.status} /></a> {String(answer)}
      <div className="muted">
        {d.attempt_count} attempt{d.attempt_count === 1 ? '' : 's'}{d.attempts.length ? ` · ${time(d.attempts[d.attempts.length - 1]!.started_at)}` : ''}
        {d.waiting_for_earlier_event ? ' · waits for an earlier event' : ''}
      </div>
    </td>
  );
}

/** Rows: the call's events; columns: every target any event went to; a cell: that delivery. */
export function Grid({ call, deliveries, targets }: { call: Call; deliveries: Delivery[]; targets: Map<string, TargetInfo> }): ReactNode {
  const columns = [...new Map(deliveries.map((d) => [d.target.id, d.target])).values()];
  const bySeqTarget = new Map(deliveries.map((d) => [`${d.event_seq}/${d.target.id}`, d]));
  const seqs = [...new Set([...call.events.map((e) => e.seq), ...deliveries.map((d) => d.event_seq)])].sort((a, b) => a - b);
  const typeOf = new Map(call.events.map((e) => [e.seq, e.type]));
  const nameOf = new Map(deliveries.map((d) => [d.event_seq, d.event]));
  if (columns.length === 0) return <p className="muted">No target has been sent an event of this call (add an endpoint or another target, then place a call).</p>;
  return (
    <div className="scroll">
      <table className="grid" aria-label="Deliveries by event and target">
        <thead>
          <tr>
            <th>Event</th>
            {columns.map((t) => {
              const info = targets.get(t.id);
              return <th key={t.id} title={shownTargetId(t.id)}>{targetLabel(t, targets)}<div className="muted">{info?.kind ?? t.format}{info && !info.enabled ? ' · disabled' : ''}</div></th>;
            })}
          </tr>
        </thead>
        <tbody>
          {seqs.map((seq) => (
            <tr key={seq}>
              <th scope="row"><code>{typeOf.get(seq) ?? nameOf.get(seq) ?? `#${seq}`}</code><div className="muted">#{seq}</div></th>
              {columns.map((t) => <Cell key={t.id} target={t.id} d={bySeqTarget.get(`${seq}/${t.id}`)} />)}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Actions({ call, onChange }: { call: Call; onChange: (c: Call) => void }): ReactNode {
  const [line, setLine] = useState({ type: 'agent', message: '' });
  const [error, setError] = useState<string | null>(null);
  const act = async (fn: () => Promise<Call>): Promise<void> => {
    setError(null);
    try {
      onChange(await fn());
    } catch (err) {
      setError(errorText(err));
    }
  };
  const add = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    await act(() => api<Call>('POST', `/v1/calls/${call.id}/transcript`, line));
    setLine({ ...line, message: '' });
  };
  return (
    <div className="actions">
      {call.status !== 'ended' && <button onClick={() => void act(() => api<Call>('POST', `/v1/calls/${call.id}/hangup`))}>Hang up</button>}
      {/* an ended call takes no more lines (the API answers 409) */}
      {call.status !== 'ended' && (
        <form className="row" onSubmit={(e) => void add(e)} aria-label="Transcript line">
          <label>Speaker<input value={line.type} onChange={(e) => setLine({ ...line, type: e.target.value })} required /></label>
          <label>Line<input value={line.message} onChange={(e) => setLine({ ...line, message: e.target.value })} required /></label>
          <button type="submit">Add transcript line</button>
        </form>
      )}
      <ErrorNote error={error} />
    </div>
  );
}

export function CallPage({ id }: { id: string }): ReactNode {
  const [call, setCall] = useState<Call | null>(null);
  const [deliveries, setDeliveries] = useState<Delivery[]>([]);
  const [error, setError] = useState<string | null>(null);
  const targets = useTargets();
  const reloadCall = useReloader(async () => {
    try {
      setCall(await api<Call>('GET', `/v1/calls/${id}`));
    } catch (err) {
      setError(errorText(err));
    }
  }, [id]);
  const reloadDeliveries = useReloader(async () => setDeliveries(await listAll<Delivery>('/v1/deliveries', { call_id: id })), [id]);
  useEffect(() => live((name) => {
    if (name !== 'delivery.result') reloadCall();
    reloadDeliveries();
  }, id), [id, reloadCall, reloadDeliveries]);
  if (error && !call) return <section><h2>{id}</h2><ErrorNote error={error} /></section>;
  if (!call) return <p>Loading…</p>;
  return (
    <section>
      <h2>{call.id}</h2>
      <p>
        {call.kind === call.direction ? call.kind : `${call.kind.replaceAll('_', ' ')} (${call.direction})`} · {call.from} → {call.to} · <Status value={call.status} /> {call.outcome ?? ''}
        {call.duration !== null ? ` · ${call.duration} s` : ''} · created {dateTime(call.created_at)}
        {(call as Record<string, unknown>).driver ? ` · driver ${String((call as Record<string, unknown>).driver)}` : ''}
        {call.external_id ? <> · switch call <code>{call.external_id}</code></> : null}
      </p>
      {call.error_message && <p className="error">{call.error_message}</p>}
      <Actions call={call} onChange={(c) => { setCall(c); reloadCall(); }} />
      <h3>Legs</h3>
      <Legs call={call} />
      <div className="two">
        <div>
          <h3>Timeline</h3>
          <Timeline call={call} />
        </div>
        <div>
          <h3>Deliveries</h3>
          <Grid call={call} deliveries={deliveries} targets={targets} />
          <p><a href={`#/deliveries?call_id=${call.id}`}>Log of this call</a></p>
        </div>
      </div>
    </section>
  );
}
