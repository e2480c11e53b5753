import { useEffect, useId, useState, type FormEvent } from 'react';
import { CUSTOM_EVENTS } from '../../formats/custom.ts';
import { client, ok, type Answer, type Body } from '../api.ts';
import {
  ErrorText, FormErrors, HeadersEditor, SelectField, State, Switch, TestResult, TextField, fieldErrors, headerObject, headerRows,
  testUnsaved, useAction, type FieldErrors, type HeaderRows, type TestOutcome,
} from './form.tsx';

/** GET /v1/integrations/custom-webhook: the account's one integration (seed 004). */
type Integration = Answer<'/v1/integrations/custom-webhook', 'get'>;
type IntegrationBody = Body<'/v1/integrations/custom-webhook', 'put'>;
type CustomEvent = NonNullable<IntegrationBody['events']>[number];

interface Form {
  enabled: boolean;
  url: string;
  headers: HeaderRows;
  events: string[];
}

/** Seed 004's own words for each event. */
const ABOUT: Record<string, string> = {
  call_initiated: 'Sent when a new call (inbound or outbound) is started. This is the very first event in a call’s lifecycle.',
  call_ringing: 'Sent when an inbound call starts ringing for the agent or an outbound call is connecting to the destination number.',
  call_answered: 'Sent as soon as the call is answered by the receiving party.',
  transcript: 'Sent during an active call as speech is being transcribed: a live, partial transcript of the conversation.',
  call_ended: 'Sent after a call is terminated by either party, with the complete, final transcript of the conversation.',
  error: 'Sent if an error occurs at any point during the call (e.g., connection failed, configuration issue).',
};

const formOf = (v: Integration): Form => ({ enabled: v.enabled, url: v.url ?? '', headers: headerRows(v.headers), events: v.events });
const bodyOf = (f: Form): IntegrationBody => ({ enabled: f.enabled, url: f.url === '' ? null : f.url, headers: headerObject(f.headers), events: f.events as CustomEvent[] });

/** Subscribe to Events: one checkbox per event, named as the seed names it (`call_ended`). */
function Events({ value, onChange, errs }: { value: string[]; onChange: (v: string[]) => void; errs: FieldErrors }) {
  const id = useId();
  const messages = errs.at('events');
  return (
    <fieldset className="field" aria-describedby={messages.length > 0 ? `${id}-error` : undefined}>
      <legend>Subscribe to Events</legend>
      {CUSTOM_EVENTS.map((e) => (
        <div key={e}>
          <label className="check">
            <input type="checkbox" name="events" value={e} checked={value.includes(e)} aria-describedby={`${id}-${e}`}
              onChange={(x) => onChange(x.target.checked ? CUSTOM_EVENTS.filter((o) => o === e || value.includes(o)) : value.filter((o) => o !== e))} />
            <code>{e}</code>
          </label>
          <small className="hint" id={`${id}-${e}`}>{ABOUT[e]}</small>
        </div>
      ))}
      <ErrorText id={`${id}-error`} messages={messages} />
    </fieldset>
  );
}

export function CustomWebhookPage() {
  const [saved, setSaved] = useState<Integration | null>(null);
  const [form, setForm] = useState<Form | null>(null);
  const [result, setResult] = useState<TestOutcome | null>(null);
  const [testEvent, setTestEvent] = useState<string>('call_initiated');
  const [notice, setNotice] = useState<string | null>(null);
  const save = useAction();
  const test = useAction();
  useEffect(() => {
    ok(client.GET('/v1/integrations/custom-webhook')).then((v) => {
      setSaved(v);
      setForm(formOf(v));
    }, (err: unknown) => save.setProblem({ detail: err instanceof Error ? err.message : String(err) }));
  }, []);
  if (!form) return <section><h2>Custom webhook</h2>{save.problem ? <p role="alert" className="error">{save.problem.detail}</p> : <p>Loading…</p>}</section>;
  const errs = fieldErrors(save.problem ?? test.problem, ['enabled', 'url', 'headers', 'events', 'event_type', 'event', 'test_event']);
  const set = (f: Form): void => {
    setForm(f);
    setNotice(null);
  };
  const pristine = saved !== null && saved.url !== null && JSON.stringify(form) === JSON.stringify(formOf(saved));
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    test.setProblem(null);
    const v = await save.run(() => ok(client.PUT('/v1/integrations/custom-webhook', { body: bodyOf(form) })));
    if (v) {
      setSaved(v);
      setForm(formOf(v));
      setNotice('Saved.');
    }
  };
  // Test Webhook Integration: the saved integration as saved, else the form as it stands (before Save)
  const sendTest = async (): Promise<void> => {
    save.setProblem(null);
    setResult(null);
    const b = bodyOf(form);
    const r = await test.run(() => (pristine
      ? ok(client.POST('/v1/integrations/custom-webhook/test', { body: { event_type: testEvent as CustomEvent } }))
      : testUnsaved('custom', { url: b.url ?? '', headers: b.headers, events: b.events }, testEvent)));
    if (r) setResult(r);
  };
  const testErrors = [...errs.at('event_type'), ...errs.at('event'), ...errs.at('test_event')];
  return (
    <section className="seed-page">
      <h2>Custom webhook</h2>
      <p className="hint">Settings › Integrations › Custom Webhook</p>
      <p>
        Receive real-time HTTP notifications about events happening within your telephony service: each event is a <code>POST</code> of
        {' '}<code>{'{event_type, timestamp_utc, payload, is_test}'}</code> to your URL. Your server should respond with <code>200 OK</code>;
        anything else counts as a failure.
      </p>
      <form aria-label="Custom webhook" noValidate onSubmit={(e) => void submit(e)}>
        <section>
          <h3>Enable Integration</h3>
          <Switch label="Enabled" checked={form.enabled} onChange={(enabled) => set({ ...form, enabled })} />
          {' '}{saved && saved.updated_at !== null && <State enabled={saved.enabled} reason={saved.disabled_reason} />}
          <ErrorText id="enabled-error" messages={errs.at('enabled')} />
        </section>
        <section>
          <h3>Webhook URL</h3>
          <TextField label="URL" name="url" value={form.url} onChange={(url) => set({ ...form, url })} errs={errs} placeholder="https://example.com/webhooks/calls"
            hint="Your server endpoint that will receive the HTTP POST requests." />
        </section>
        <section>
          <HeadersEditor legend="Additional Headers" value={form.headers} onChange={(headers) => set({ ...form, headers })} errs={errs}
            hint="Optional: e.g. an API key or authorization token your endpoint requires." />
        </section>
        <section>
          <Events value={form.events} onChange={(events) => set({ ...form, events })} errs={errs} />
        </section>
        <FormErrors errs={errs} />
        <div className="actions">
          <button type="submit" disabled={save.busy}>Save</button>
          <SelectField label="Test event" name="event_type" value={testEvent} options={CUSTOM_EVENTS} onChange={setTestEvent} errs={{ at: () => [], rest: [] }} />
          <button type="button" disabled={test.busy} onClick={() => void sendTest()}>Test webhook</button>
        </div>
        {testErrors.length > 0 && <p role="alert" className="field-error">{testErrors.join(' ')}</p>}
        {notice && <p role="status">{notice}</p>}
        {result && <TestResult result={result} />}
      </form>
    </section>
  );
}
