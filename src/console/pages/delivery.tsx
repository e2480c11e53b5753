/**
 * A delivery's page: what was sent where, every attempt (the request as the API gives it,
 * secrets redacted; the response's status, headers and excerpt; latency), live as attempts land,
 * and "Retry" (POST /v1/deliveries/{id}/retry: sent again now, same webhook-id).
 */
import { useEffect, useState, type ReactNode } from 'react';
import { api, live, type Attempt, type Delivery } from '../api.ts';
import { ErrorNote, Status, dateTime, errorText, targetLabel, useReloader, useTargets } from '../ui.tsx';

function Headers({ headers }: { headers: Record<string, string> | null | undefined }): ReactNode {
  if (!headers || Object.keys(headers).length === 0) return <p className="muted">none</p>;
  return (
    <dl className="headers">
      {Object.entries(headers).map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{v}</dd></div>)}
    </dl>
  );
}

function AttemptCard({ a, sent }: { a: Attempt; sent: string | null }): ReactNode {
  // the body sent: the delivery's (the same every attempt), or a test's own
  const own = (a.request as Record<string, unknown>).body;
  const body = typeof own === 'string' ? own : sent;
  return (
    <article className="attempt" aria-label={`Attempt ${a.attempt}`}>
      <h4>
        Attempt {a.attempt} · {a.status_code !== null ? <span className={a.status_code < 300 ? 'ok' : 'bad'}>{a.status_code}</span> : <span className="bad">{a.error ?? 'no answer'}</span>}
        {' '}· {a.duration_ms} ms · {dateTime(a.started_at)}
      </h4>
      {a.error && a.status_code !== null && <p className="error">{a.error}</p>}
      <div className="two">
        <div>
          <h5>Request</h5>
          <p><code>{a.request.method} {a.request.url}</code></p>
          <Headers headers={a.request.headers} />
          {typeof body === 'string' && <pre>{body}</pre>}
        </div>
        <div>
          <h5>Response</h5>
          <Headers headers={a.response_headers} />
          {a.response_excerpt !== null && <pre>{a.response_excerpt}</pre>}
        </div>
      </div>
    </article>
  );
}

export function DeliveryPage({ id }: { id: string }): ReactNode {
  const [d, setD] = useState<Delivery | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const targets = useTargets();
  const reload = useReloader(async () => {
    try {
      setD(await api<Delivery>('GET', `/v1/deliveries/${id}`));
    } catch (err) {
      setError(errorText(err));
    }
  }, [id]);
  const callId = d?.call_id ?? undefined;
  useEffect(() => live((name, data) => {
    if (name === 'reset' || data.delivery_id === id) reload();
  }, callId), [id, callId, reload]);
  const retry = async (): Promise<void> => {
    setError(null);
    try {
      setD(await api<Delivery>('POST', `/v1/deliveries/${id}/retry`));
      // the attempt's result may have come on the stream (and been loaded) before this answer
      // was read: load again so the older answer does not stay on the page
      reload();
      setNote('Sent again: the new attempt shows here when it is answered.');
    } catch (err) {
      setError(errorText(err));
    }
  };
  if (!d) return <section><h2>{id}</h2>{error ? <ErrorNote error={error} /> : <p>Loading…</p>}</section>;
  return (
    <section>
      <h2>{d.id}</h2>
      <p>
        <code>{d.event}</code> ({d.event_type}, event #{d.event_seq}) to {targetLabel(d.target, targets)} ({d.target.format})
        {' '}· {d.test ? 'test delivery' : d.call_id ? <>call <a href={`#/calls/${d.call_id}`}>{d.call_id}</a></> : null}
      </p>
      <p>
        <Status value={d.status} /> after {d.attempt_count} attempt{d.attempt_count === 1 ? '' : 's'}
        {d.next_attempt_at ? ` · next attempt ${dateTime(d.next_attempt_at)}` : ''}
        {d.waiting_for_earlier_event ? ' · waits for an earlier event of its call to this target' : ''}
      </p>
      <div className="actions">
        {d.test
          ? <span className="muted">A test is sent once: send a new one from its target's page.</span>
          : <button disabled={d.waiting_for_earlier_event} title={d.waiting_for_earlier_event ? 'it goes once the earlier event of its call settles' : undefined} onClick={() => void retry()}>Retry</button>}
        {note && <span className="muted" role="status">{note}</span>}
      </div>
      <ErrorNote error={error} />
      <h3>Attempts</h3>
      {d.attempts.length === 0 && <p className="muted">No attempt yet.</p>}
      {[...d.attempts].reverse().map((a) => <AttemptCard key={a.attempt} a={a} sent={d.request.body ?? null} />)}
    </section>
  );
}
