import type { Call, Outcome } from '../calls/model.ts';
import { RESOURCE_KINDS } from '../targets/model.ts';
import type { Format, Rendered } from './format.ts';
import { formEncode, parseTemplate, render, type Vars } from './template.ts';
import { sqlTime } from './time.ts';

/** Seed 001 call statuses. */
export const REPORT_STATUS: Record<Outcome, string> = {
  completed: 'ANSWER',
  'no-answer': 'NOANSWER',
  busy: 'BUSY',
  failed: 'FAILED',
  cancelled: 'CANCEL',
};

/** The variables a compose template may use (seed 001's report fields, plus `id` and `webhook_id`). */
export const REPORT_VARS = [
  'id', 'webhook_id', 'bridge', 'from', 'to', 'source', 'mid', 'flow_id', 'start_at', 'end_at', 'duration', 'status', 'recording_url',
] as const;

export const REPORT_EVENT = 'report';

export interface WebhookDoc {
  url: string;
  method: 'GET' | 'POST' | 'PUT';
  headers: Record<string, string>;
  /** compose template; null = the seed's JSON report */
  body: string | null;
  body_format: 'json' | 'form';
}

/**
 * Seed 001 shows numbers unquoted and without a `+` (`"from": 91891952XXXX`): digits after an
 * optional leading `+` go out as a JSON number, the `+` dropped. A leading zero or more digits
 * than a double holds exactly would change the number, so those stay strings, as does anything
 * else (a SIP address, `anonymous`).
 */
export function numeric(v: string | number | null): string | number | null {
  if (typeof v !== 'string') return v;
  const m = /^\+?([1-9]\d*)$/.exec(v);
  if (m === null) return v;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : v;
}

export function reportVars(call: Call): Vars {
  return {
    id: call.id,
    webhook_id: call.webhook_id,
    bridge: call.bridge,
    from: call.from,
    to: call.to,
    source: call.source,
    mid: call.id,
    flow_id: call.flow_id,
    start_at: sqlTime(call.started_at ?? call.created_at),
    end_at: sqlTime(call.ended_at),
    duration: String(call.duration),
    status: call.outcome === null ? '' : REPORT_STATUS[call.outcome],
    recording_url: call.recording_url ?? '',
  };
}

/** The seed's report, field by field, with the seed's types. */
export function defaultReport(v: Vars): Record<string, unknown> {
  return {
    bridge: numeric(v.bridge as string | null),
    from: numeric(v.from as string),
    to: numeric(v.to as string),
    source: v.source,
    mid: v.mid,
    flow_id: numeric(v.flow_id as string | number | null),
    start_at: v.start_at,
    end_at: v.end_at,
    duration: v.duration,
    status: v.status,
    recording_url: v.recording_url,
  };
}

export function renderReport(doc: WebhookDoc, call: Call): Rendered {
  const vars = reportVars(call);
  const url = render(parseTemplate(doc.url, 'url'), vars);
  const headers = { ...doc.headers };
  if (doc.method === 'GET') return { event_name: REPORT_EVENT, request: { method: 'GET', url, headers, body: null } };
  let body: string;
  if (doc.body === null) {
    body = doc.body_format === 'form'
      ? Object.entries(defaultReport(vars)).map(([k, v]) => `${formEncode(k)}=${formEncode(v === null ? '' : String(v))}`).join('&')
      : JSON.stringify(defaultReport(vars));
  } else {
    body = render(parseTemplate(doc.body, doc.body_format), vars);
  }
  headers['content-type'] = doc.body_format === 'form' ? 'application/x-www-form-urlencoded' : 'application/json';
  return { event_name: REPORT_EVENT, request: { method: doc.method, url, headers, body } };
}

/** Seed 001: one report per call, when it ends, to the webhook the call named. */
export const pushReportFormat: Format<null> = {
  name: 'push-report',
  kind: RESOURCE_KINDS.webhook,
  events: [REPORT_EVENT],
  testEvent: REPORT_EVENT,
  index: () => null,
  plan(call, event, targets, add) {
    if (event.type !== 'call.ended' || call.webhook_id === null) return;
    const r = targets.byId.get(call.webhook_id);
    // A disabled webhook still gets its row (dead, with the reason): nothing is dropped unseen.
    if (r?.kind !== RESOURCE_KINDS.webhook) return;
    add(r.id, renderReport(r.doc as unknown as WebhookDoc, call));
  },
  // Seed 001: "response codes other than 200 or 202 ... are considered as failed".
  success: (s) => s === 200 || s === 202,
  sample: (target) => ({
    kind: 'outbound',
    prepare: (call) => {
      call.webhook_id = target.id;
    },
  }),
};
