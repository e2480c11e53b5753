import { useState } from 'react';
import { CALLBACK_VARS, OBD_EVENTS, type CallbackProfileDoc } from '../../formats/callback.ts';
import type { Answer, Body } from '../api.ts';
import { HeadersEditor, SelectField, TextField, headerObject, headerRows, type FieldErrors, type HeaderRows } from './form.tsx';
import { RequestPreview, previewCallback } from './preview.tsx';
import { TargetList, type TargetKind } from './targets.tsx';

/** Seed 000: a callback profile (`SG_…`), named in a call's `callback` parameter. */
type CallbackProfile = Answer<'/v1/callback-profiles/{id}', 'get'>;
type ProfileBody = Body<'/v1/callback-profiles', 'post'>;

interface Form {
  name: string;
  url: string;
  method: 'GET' | 'POST';
  body: string;
  headers: HeaderRows;
}

const METHODS = ['POST', 'GET'] as const;

const docOf = (f: Form): CallbackProfileDoc => ({
  name: f.name, url: f.url, method: f.method, headers: headerObject(f.headers), body: f.method === 'POST' && f.body.trim() !== '' ? f.body : null,
});

/** How a call names a profile: the seed's `callback` parameter, every event to this profile. */
const callbackParam = (id: string): string => JSON.stringify({ call_end: { callback_profile: [id], url: [] } });

function Fields({ form, set, errs }: { form: Form; set: (f: Form) => void; errs: FieldErrors }) {
  return (
    <>
      <TextField label="Name" name="name" value={form.name} onChange={(name) => set({ ...form, name })} errs={errs} />
      <TextField label="URL" name="url" value={form.url} onChange={(url) => set({ ...form, url })} errs={errs} mono
        placeholder="https://webhook.site/…?caller={{caller}}" hint={<>A template: <code>{'{{caller}}'}</code> or <code>{'{callee}'}</code>, values URL-encoded.</>} />
      <SelectField label="Method" name="method" value={form.method} options={METHODS} onChange={(method) => set({ ...form, method })} errs={errs} />
      {form.method === 'POST' && (
        <TextField label="Body template" name="body" value={form.body} onChange={(body) => set({ ...form, body })} errs={errs} multiline
          hint={<>JSON; empty sends every variable as a JSON object. Variables: {CALLBACK_VARS.map((v) => <code key={v}>{`{{${v}}} `}</code>)}</>} />
      )}
      <HeadersEditor value={form.headers} onChange={(headers) => set({ ...form, headers })} errs={errs} />
    </>
  );
}

function Preview({ form }: { form: Form }) {
  const [event, setEvent] = useState<string>('call_end');
  const none: FieldErrors = { at: () => [], rest: [] };
  return (
    <div className="preview-col">
      <RequestPreview title="Preview" request={previewCallback(docOf(form), event)}
        note={<SelectField label="Preview event" name="preview_event" value={event} options={OBD_EVENTS} onChange={setEvent} errs={none} />} />
    </div>
  );
}

export const callbackProfileKind: TargetKind<Form, CallbackProfile, ProfileBody> = {
  path: '/v1/callback-profiles',
  format: 'callback',
  noun: 'callback profile',
  empty: { name: '', url: '', method: 'POST', body: '', headers: [] },
  fromView: (v) => ({ name: v.name, url: v.url, method: v.method === 'GET' ? 'GET' : 'POST', body: v.body ?? '', headers: headerRows(v.headers) }),
  toBody: (f): ProfileBody => {
    const d = docOf(f);
    return { name: d.name, url: d.url, method: d.method, headers: d.headers, body: d.body };
  },
  fields: ['name', 'url', 'method', 'body', 'headers'],
  Fields,
  idOf: (v) => v.id,
  columns: [
    { head: 'Name', cell: (v) => v.name },
    { head: 'URL', cell: (v) => <code>{v.url}</code> },
    { head: 'Method', cell: (v) => v.method },
    { head: 'In a call', cell: (v) => <code className="mono">{callbackParam(v.id)}</code> },
  ],
  testEvents: ['call_end', 'call_start', 'call_answer', 'from_call_start', 'from_call_answer', 'to_call_start', 'to_call_answer'],
  Preview,
};

export function CallbackProfilesPage() {
  return (
    <>
      <h2>Callback profiles</h2>
      <TargetList kind={callbackProfileKind} intro={
        <p>
          Callback Profiles are used to trigger the configured endpoints and receive callback data for the configured callback event, by GET or POST.
          Name a profile in the <code>callback</code> parameter of the Outbound Calling API (<code>call_start</code>, <code>call_answer</code>,
          {' '}<code>call_end</code>) or the Click to Call API (<code>from_call_start</code>, <code>to_call_start</code>, <code>from_call_answer</code>,
          {' '}<code>to_call_answer</code>, <code>call_end</code>); at most 10 profile IDs and URLs per call.
        </p>
      } />
    </>
  );
}
