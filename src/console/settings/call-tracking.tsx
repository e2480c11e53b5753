import { useEffect, useState, type FormEvent } from 'react';
import { TRACKING_EVENTS, type TrackingEvent } from '../../formats/call-tracking.ts';
import { client, ok, type Answer, type Body } from '../api.ts';
import { CheckboxGroup, FormErrors, SelectField, TextField, fieldErrors, useAction, type FieldErrors } from './form.tsx';
import { previewTracking } from './preview.tsx';
import { TargetList, type TargetKind } from './targets.tsx';

/** Seed 003: a tracked property (a website); inbound calls name it in `tracking.property_sid`. */
type Property = Answer<'/v1/properties/{id}', 'get'>;
/** Seed 003: a voice webhook, Call.Initiate and Call.Complete by GET or POST. */
type TrackingWebhook = Answer<'/v1/call-tracking/webhooks/{id}', 'get'>;
type TrackingWebhookBody = Body<'/v1/call-tracking/webhooks', 'post'>;

const listProperties = (): Promise<Property[]> => ok(client.GET('/v1/properties', { params: { query: { limit: 100 } } })).then((l) => l.data);

/** Said on the window when the properties change, so the webhook form's choices follow. */
const PROPERTIES_CHANGED = 'hookline:properties-changed';

function PropertyForm({ editing, onDone }: { editing: Property | null; onDone: () => void }) {
  const [name, setName] = useState(editing?.name ?? '');
  const save = useAction();
  const errs = fieldErrors(save.problem, ['name', 'type']);
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const body = { name, type: 'Site' as const };
    const r = await save.run(() => (editing
      ? ok(client.PATCH('/v1/properties/{id}', { params: { path: { id: editing.sid } }, body }))
      : ok(client.POST('/v1/properties', { body }))));
    if (r) onDone();
  };
  const title = editing ? 'Edit property' : 'New property';
  return (
    <form className="card settings-form" aria-label={title} noValidate onSubmit={(e) => void submit(e)}>
      <h3>{title}</h3>
      <TextField label="Property name" name="name" value={name} onChange={setName} errs={errs} placeholder="example.com" hint="For website properties, the domain name. Type: Site." />
      <FormErrors errs={errs} />
      <div className="actions">
        <button type="submit" disabled={save.busy}>{editing ? 'Save' : 'Create'}</button>
        <button type="button" onClick={onDone}>Cancel</button>
      </div>
    </form>
  );
}

function Properties() {
  const [items, setItems] = useState<Property[] | null>(null);
  const [editing, setEditing] = useState<Property | 'new' | null>(null);
  const act = useAction();
  const load = (): void => void listProperties().then(setItems, () => undefined);
  useEffect(load, []);
  const done = (): void => {
    setEditing(null);
    load();
    dispatchEvent(new Event(PROPERTIES_CHANGED));
  };
  const remove = async (p: Property): Promise<void> => {
    if (!confirm(`Delete property ${p.name}?`)) return;
    await act.run(() => ok(client.DELETE('/v1/properties/{id}', { params: { path: { id: p.sid } } })));
    done();
  };
  return (
    <section className="settings">
      <h3>Properties</h3>
      <p>Each tracked property has a secure identifier (<code>Property.Sid</code>); an inbound call takes part when its <code>tracking.property_sid</code> names one.</p>
      {editing === null
        ? <button type="button" onClick={() => setEditing('new')}>Add property</button>
        : <PropertyForm key={editing === 'new' ? 'new' : editing.sid} editing={editing === 'new' ? null : editing} onDone={done} />}
      {act.problem && <p role="alert" className="error">{act.problem.detail}</p>}
      {items && items.length === 0 && <p className="empty">No property yet.</p>}
      {items && items.length > 0 && (
        <table aria-label="properties">
          <thead><tr><th>Property.Sid</th><th>Property.Name</th><th>Property.Type</th><th>Actions</th></tr></thead>
          <tbody>
            {items.map((p) => (
              <tr key={p.sid} data-id={p.sid}>
                <td><code>{p.sid}</code></td><td>{p.name}</td><td>{p.type}</td>
                <td className="row-actions">
                  <button type="button" onClick={() => setEditing(p)}>Edit</button>
                  <button type="button" className="danger" onClick={() => void remove(p)}>Delete</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface Form {
  url: string;
  method: 'GET' | 'POST';
  property_sid: string;
  events: string[];
}

const METHODS = ['POST', 'GET'] as const;
const ANY = '';

/** The account's properties, kept current: one added or renamed above shows in a form already open. */
function useProperties(): Property[] {
  const [props, setProps] = useState<Property[]>([]);
  useEffect(() => {
    const load = (): void => void listProperties().then(setProps, () => undefined);
    load();
    addEventListener(PROPERTIES_CHANGED, load);
    return () => removeEventListener(PROPERTIES_CHANGED, load);
  }, []);
  return props;
}

function Fields({ form, set, errs }: { form: Form; set: (f: Form) => void; errs: FieldErrors }) {
  const props = useProperties();
  const options = [ANY, ...props.map((p) => p.sid)];
  // a webhook may name a property not in the first page: keep it choosable
  if (form.property_sid !== ANY && !options.includes(form.property_sid)) options.push(form.property_sid);
  const labels = Object.fromEntries([[ANY, 'Every property'], ...props.map((p) => [p.sid, `${p.name} (${p.sid})`])]) as Record<string, string>;
  return (
    <>
      <TextField label="URL" name="url" value={form.url} onChange={(url) => set({ ...form, url })} errs={errs} placeholder="https://example.com/voice-webhook" />
      <SelectField label="Method" name="method" value={form.method} options={METHODS} onChange={(method) => set({ ...form, method })} errs={errs}
        labels={{ GET: 'GET (parameters in the query)', POST: 'POST (parameters as a form)' }} />
      <SelectField label="Property" name="property_sid" value={form.property_sid} options={options} onChange={(property_sid) => set({ ...form, property_sid })} errs={errs} labels={labels} />
      <CheckboxGroup legend="Events" name="events" options={TRACKING_EVENTS} value={form.events} onChange={(events) => set({ ...form, events })} errs={errs}
        hint={<><code>Call.Initiate</code>: fired at the start of a phone call; <code>Call.Complete</code>: at the end.</>} />
    </>
  );
}

/** The parameters of a sample inbound call, as the seed's tables list them, for the event chosen. */
function Preview({ form }: { form: Form }) {
  const props = useProperties();
  const [event, setEvent] = useState<TrackingEvent>('Call.Complete');
  const chosen = props.find((p) => p.sid === form.property_sid) ?? props[0];
  const sid = chosen?.sid ?? `PR${'0'.repeat(32)}`;
  const params = previewTracking(sid, { name: chosen?.name ?? 'example.com', type: 'Site' }, event);
  const none: FieldErrors = { at: () => [], rest: [] };
  return (
    <aside className="preview" aria-label="Parameters">
      <h4>Parameters ({form.method === 'GET' ? 'in the query string' : 'as a form body'})</h4>
      <SelectField label="Preview event" name="preview_event" value={event} options={TRACKING_EVENTS} onChange={setEvent} errs={none} />
      <table>
        <thead><tr><th>Parameter</th><th>Value</th></tr></thead>
        <tbody>{params.map(([k, v]) => <tr key={k}><td><code>{k}</code></td><td>{v}</td></tr>)}</tbody>
      </table>
    </aside>
  );
}

export const trackingWebhookKind: TargetKind<Form, TrackingWebhook, TrackingWebhookBody> = {
  path: '/v1/call-tracking/webhooks',
  format: 'call-tracking',
  noun: 'webhook',
  empty: { url: '', method: 'POST', property_sid: ANY, events: [...TRACKING_EVENTS] },
  fromView: (v) => ({ url: v.url, method: v.method === 'GET' ? 'GET' : 'POST', property_sid: v.property_sid ?? ANY, events: v.events }),
  toBody: (f): TrackingWebhookBody => ({ url: f.url, method: f.method, property_sid: f.property_sid === ANY ? null : f.property_sid, events: f.events as TrackingWebhookBody['events'] }),
  fields: ['url', 'method', 'property_sid', 'events'],
  Fields,
  idOf: (v) => v.id,
  columns: [
    { head: 'URL', cell: (v) => v.url },
    { head: 'Method', cell: (v) => v.method },
    { head: 'Property', cell: (v) => (v.property_sid === null ? 'every property' : <code>{v.property_sid}</code>) },
    { head: 'Events', cell: (v) => v.events.join(', ') },
  ],
  testEvents: ['Call.Complete', 'Call.Initiate'],
  Preview,
};

export function CallTrackingPage() {
  return (
    <>
      <h2>Call tracking</h2>
      <Properties />
      <TargetList kind={trackingWebhookKind} title="Voice webhooks" intro={
        <p>Voice webhooks allow you to receive HTTP callbacks at user-defined URIs when call events occur. You can receive webhooks using GET or POST.</p>
      } />
    </>
  );
}
