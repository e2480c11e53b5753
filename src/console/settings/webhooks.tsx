import { REPORT_VARS, type WebhookDoc } from '../../formats/push-report.ts';
import type { Answer, Body } from '../api.ts';
import { HeadersEditor, SelectField, TextField, headerObject, headerRows, type HeaderRows } from './form.tsx';
import { RequestPreview, previewReport } from './preview.tsx';
import { TargetList, type TargetKind } from './targets.tsx';

/** Seed 001: a webhook of the "Webhooks section"; its id is the `webhook_id` a call names. */
type Webhook = Answer<'/v1/webhooks/{id}', 'get'>;
type WebhookBody = Body<'/v1/webhooks', 'post'>;

interface Form {
  url: string;
  method: 'GET' | 'POST' | 'PUT';
  body_format: 'json' | 'form';
  /** compose: off sends the seed's report as it is */
  compose: boolean;
  body: string;
  headers: HeaderRows;
}

const METHODS = ['POST', 'GET', 'PUT'] as const;
const BODY_FORMATS = ['json', 'form'] as const;

/** The seed's compose example, a starting point. */
const COMPOSE_EXAMPLE = '{\n  "id": "{{id}}",\n  "to": "{{to}}",\n  "status": "{{status}}",\n  "duration": "{{duration}}"\n}';

const docOf = (f: Form): WebhookDoc => ({
  url: f.url, method: f.method, headers: headerObject(f.headers), body: f.compose && f.method !== 'GET' ? f.body : null, body_format: f.body_format,
});

/** The variables a compose template may use; a click adds one to the body. */
function Variables({ onPick }: { onPick: (name: string) => void }) {
  return (
    <p className="vars">
      Variables:{' '}
      {REPORT_VARS.map((v) => <button type="button" key={v} title={`Insert {{${v}}}`} onClick={() => onPick(v)}>{`{{${v}}}`}</button>)}
    </p>
  );
}

export const webhookKind: TargetKind<Form, Webhook, WebhookBody> = {
  path: '/v1/webhooks',
  format: 'push-report',
  noun: 'webhook',
  empty: { url: '', method: 'POST', body_format: 'json', compose: false, body: '', headers: [] },
  fromView: (v) => ({
    url: v.url, method: v.method as Form['method'], body_format: v.body_format === 'form' ? 'form' : 'json', compose: v.body !== null, body: v.body ?? '', headers: headerRows(v.headers),
  }),
  toBody: (f): WebhookBody => {
    const d = docOf(f);
    return { url: d.url, method: d.method, body_format: d.body_format, headers: d.headers, body: d.body };
  },
  fields: ['url', 'method', 'body_format', 'body', 'headers'],
  Fields: ({ form, set, errs }) => (
    <>
      <TextField label="URL" name="url" value={form.url} onChange={(url) => set({ ...form, url })} errs={errs} mono
        placeholder="https://www.domain.com/ack/receive?id={{id}}" hint={<>A template: <code>{'{{id}}'}</code>, <code>{'{{to}}'}</code>, <code>{'{{status}}'}</code>… are URL-encoded.</>} />
      <SelectField label="Method" name="method" value={form.method} options={METHODS} onChange={(method) => set({ ...form, method })} errs={errs} />
      {form.method !== 'GET' && (
        <>
          <SelectField label="Body format" name="body_format" value={form.body_format} options={BODY_FORMATS} onChange={(body_format) => set({ ...form, body_format })} errs={errs}
            labels={{ json: 'json (application/json)', form: 'form (application/x-www-form-urlencoded)' }} />
          <label className="check">
            <input type="checkbox" checked={form.compose} onChange={(e) => set({ ...form, compose: e.target.checked, body: form.body || COMPOSE_EXAMPLE })} />
            Compose webhook (a custom payload instead of the report)
          </label>
          {form.compose && (
            <>
              <TextField label="Body template" name="body" value={form.body} onChange={(body) => set({ ...form, body })} errs={errs} multiline />
              <Variables onPick={(v) => set({ ...form, body: `${form.body}{{${v}}}` })} />
            </>
          )}
        </>
      )}
      <HeadersEditor value={form.headers} onChange={(headers) => set({ ...form, headers })} errs={errs} hint={<>e.g. <code>Authorization: Bearer %token%</code>. The content type follows the body format.</>} />
    </>
  ),
  idOf: (v) => v.id,
  columns: [
    { head: 'URL', cell: (v) => <code>{v.url}</code> },
    { head: 'Method', cell: (v) => v.method },
    { head: 'Payload', cell: (v) => (v.body === null ? 'report' : `compose (${v.body_format ?? 'json'})`) },
  ],
  Preview: ({ form, editing }) => (
    <RequestPreview title="Preview" request={previewReport(docOf(form), editing?.id ?? 'wh_NEW')}
      note={<p className="hint">The report of a sample call (<code>+905555555555</code> → <code>+905555555554</code>, answered), rendered as a live call's would be.</p>} />
  ),
};

export function WebhooksPage() {
  return (
    <>
      <h2>Webhooks</h2>
      <TargetList kind={webhookKind} intro={
        <p>
          The push report of a call is sent once, when it ends, to the webhook the call names: create the webhook here, then pass its id as
          {' '}<code>webhook_id</code> when placing a call (<code>POST /v1/calls</code>). Responses other than 200 or 202 count as failed.
        </p>
      } />
    </>
  );
}
