/**
 * Previews from a sample call, rendered in the browser by the server's own code: the sample call
 * of the test route (formats/sample.ts, played through the same reducer) and each format's own
 * renderer (formats/push-report.ts, formats/callback.ts, formats/template.ts). Pure modules, so
 * what the preview shows is what a live call sends; "Send test" shows what the server sent.
 */
import type { ReactNode } from 'react';
import type { Call, CallEvent } from '../../calls/model.ts';
import { trackingEventOf, trackingParams, type PropertyDoc, type TrackingEvent } from '../../formats/call-tracking.ts';
import { callbackEventName, callbackVars, renderProfile, type CallbackProfileDoc } from '../../formats/callback.ts';
import { renderReport, type WebhookDoc } from '../../formats/push-report.ts';
import { playSample, sampleCall, sampleEvents } from '../../formats/sample.ts';

interface Request {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
}

/** The sample call of a test (an OBD call, completed), `each` called after each event as fan-out is. */
function play(prepare: (call: Call) => void, each: (call: Call, event: CallEvent) => void, kind: Call['kind'] = 'outbound'): void {
  const now = Date.now();
  const call = sampleCall('acct_preview', kind, now);
  prepare(call);
  playSample(call, sampleEvents(call, 'completed', false), now, (e) => each(call, e));
}

/** Seed 001: the report a webhook gets when the sample call ends. */
export function previewReport(doc: WebhookDoc, id: string): Request | null {
  let out: Request | null = null;
  play((c) => {
    c.webhook_id = id;
  }, (call, e) => {
    if (e.type === 'call.ended') out = renderReport(doc, call).request;
  });
  return out;
}

/** Seed 000: what a profile gets for `event` (call_start, call_answer, call_end) of the sample call. */
export function previewCallback(doc: CallbackProfileDoc, event: string): Request | null {
  let out: Request | null = null;
  play(() => undefined, (call, e) => {
    const name = callbackEventName(call, e);
    if (name === event && out === null) out = renderProfile(doc, callbackVars(call, e, name), name).request;
  });
  return out;
}

/** Seed 003: the parameters a webhook gets for `event` of a sample inbound call to `property`. */
export function previewTracking(sid: string, property: PropertyDoc, event: TrackingEvent): [string, string][] {
  let out: [string, string][] = [];
  play((c) => {
    c.tracking = { property_sid: sid };
  }, (call, e) => {
    if (trackingEventOf(call, e) === event) out = trackingParams('(your account)', sid, property, call, event);
  }, 'inbound');
  return out;
}

/** Pretty JSON when it is JSON, else as is. */
function pretty(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

export function RequestPreview({ title, request, note }: { title: string; request: Request | null; note?: ReactNode }) {
  return (
    <aside className="preview" aria-label={title}>
      <h4>{title}</h4>
      {note}
      {request === null ? <p className="empty">Nothing is sent for this event.</p> : (
        <pre data-testid="preview-request">{`${request.method} ${request.url}\n${Object.entries(request.headers).map(([k, v]) => `${k}: ${v}`).join('\n')}${request.body === null ? '' : `\n\n${pretty(request.body)}`}`}</pre>
      )}
    </aside>
  );
}
