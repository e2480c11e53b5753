import type { Call, CallEvent } from '../calls/model.ts';
import { firstLeg } from '../calls/model.ts';
import type { Resource } from '../store/contract.ts';
import { RESOURCE_KINDS } from '../targets/model.ts';
import { ANY_2XX, type Format, type Rendered } from './format.ts';
import { sqlTime } from './time.ts';

export const TRACKING_EVENTS = ['Call.Initiate', 'Call.Complete'] as const;
export type TrackingEvent = (typeof TRACKING_EVENTS)[number];

export interface PropertyDoc {
  name: string;
  type: 'Site';
}

export interface TrackingWebhookDoc {
  url: string;
  method: 'GET' | 'POST';
  /** only calls of this property; null = every property of the account */
  property_sid: string | null;
  events: TrackingEvent[];
}

/** Seed 003 dispositions. A call that ended before any endpoint rang never left the IVR. */
export function disposition(call: Call): string {
  switch (call.outcome) {
    case 'completed':
      return 'ANSWERED';
    case 'busy':
      return 'BUSY';
    case 'failed':
      return 'FAILED';
    case 'no-answer':
      return 'NO ANSWER';
    default:
      return call.legs.some((l) => l.ringing_at !== null) ? 'NO ANSWER' : 'IVR';
  }
}

export function trackingEventOf(call: Call, event: CallEvent): TrackingEvent | null {
  if (event.type === 'leg.initiated' && event.leg === firstLeg(call)?.name) return 'Call.Initiate';
  if (event.type === 'call.ended') return 'Call.Complete';
  return null;
}

/**
 * The parameters of one request, by the seed's columns: "X" parameters always present (blank
 * when unknown), "Optional" ones only when known, Complete-only ones only on Call.Complete.
 */
export function trackingParams(accountId: string, propertySid: string, property: PropertyDoc, call: Call, name: TrackingEvent): [string, string][] {
  const t = call.tracking!;
  const complete = name === 'Call.Complete';
  const p: [string, string][] = [];
  const put = (k: string, v: string | number | undefined | null) => p.push([k, v === undefined || v === null ? '' : String(v)]);
  const opt = (k: string, v: string | number | undefined | null) => {
    if (v !== undefined && v !== null && v !== '') p.push([k, String(v)]);
  };
  put('Action', 'Webhook');
  put('Event', name);
  put('Account.Sid', accountId);
  put('Property.Sid', propertySid);
  put('Property.Name', property.name);
  put('Property.Type', property.type);
  put('Call.Sid', call.id);
  put('Call.StartDate', sqlTime(call.started_at ?? call.created_at));
  put('Call.From', call.from === '' ? 'anonymous' : call.from);
  put('Call.From.Country', t.caller?.country);
  put('Call.From.Region', t.caller?.region);
  put('Call.From.City', t.caller?.city);
  put('Call.To', call.to);
  if (complete) put('Call.To.Type', t.number?.type ?? 'Static');
  put('Call.To.Name', t.number?.name);
  if (complete) {
    put('Call.Duration', call.duration);
    put('Call.Disposition', disposition(call));
    opt('Call.Recording.Uri', call.recording_url);
  }
  opt('Call.Endpoint', t.endpoint);
  if (complete) {
    opt('Call.Survey.Type', t.survey?.type);
    opt('Call.Survey.Value', t.survey?.value);
    opt('Call.Survey.Custom1', t.survey?.custom1);
    opt('Call.Survey.Custom2', t.survey?.custom2);
    opt('Call.Survey.Custom3', t.survey?.custom3);
    opt('Call.Survey.UniqueCode', t.survey?.unique_code);
    opt('Call.Prompts.Postcode', t.prompts?.postcode);
    opt('Call.Prompts.Keys', t.prompts?.keys);
  }
  // "present in every request where attribution information is expected": a call that brought
  // attribution data; without any, the group is left out rather than sent blank.
  if (known(t.attribution)) {
    put('Attribution.Source', t.attribution?.source);
    put('Attribution.Medium', t.attribution?.medium);
    put('Attribution.Campaign', t.attribution?.campaign);
    put('Attribution.Content', t.attribution?.content);
  }
  // "present in every web-session related request": a call that brought session data.
  if (known(t.session)) {
    put('Session.Traffic.Type', t.session?.traffic_type);
    opt('Session.Keywords', t.session?.keywords);
    put('Session.ConversionUri', t.session?.conversion_uri);
    put('Session.LandingUri', t.session?.landing_uri);
    opt('AnalyticsSession.CustomDimension1', t.session?.custom_dimension1);
  }
  // Integration parameters are each optional: sent when the call carries them.
  opt('Google.Analytics.ClientId', t.google?.analytics_client_id);
  opt('Google.AdWords.ClickId', t.google?.adwords_click_id);
  return p;
}

/** Does a tracking group hold any value? */
function known(group: Record<string, unknown> | undefined): boolean {
  return group !== undefined && Object.values(group).some((v) => v !== undefined && v !== null && v !== '');
}

/** GET puts the parameters in the query string; POST sends them as a form body. */
export function renderTracking(doc: TrackingWebhookDoc, params: [string, string][], name: TrackingEvent): Rendered {
  const encoded = new URLSearchParams(params).toString();
  if (doc.method === 'GET') {
    const url = new URL(doc.url);
    for (const [k, v] of params) url.searchParams.append(k, v);
    return { event_name: name, request: { method: 'GET', url: url.toString(), headers: {}, body: null } };
  }
  return { event_name: name, request: { method: 'POST', url: doc.url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: encoded } };
}

/** A property for samples sent to a webhook of every property (its tests): the seed's Site. */
const SAMPLE_PROPERTY: PropertyDoc = { name: 'example.com', type: 'Site' };
const SAMPLE_PROPERTY_SID = `PR${'0'.repeat(32)}`;

/** Seed 003: calls that carry tracking data for one of the account's properties. */
export const callTrackingFormat: Format<Resource[]> = {
  name: 'call-tracking',
  kind: RESOURCE_KINDS.trackingWebhook,
  events: TRACKING_EVENTS,
  testEvent: 'Call.Complete',
  index: (targets) => [...targets],
  plan(call, event, targets, add) {
    if (!call.tracking || targets.index.length === 0) return;
    const name = trackingEventOf(call, event);
    const property = targets.byId.get(call.tracking.property_sid);
    if (name === null || property?.kind !== RESOURCE_KINDS.property) return;
    const params = trackingParams(call.account_id, property.id, property.doc as unknown as PropertyDoc, call, name);
    for (const r of targets.index) {
      const doc = r.doc as unknown as TrackingWebhookDoc;
      if (!doc.events.includes(name) || (doc.property_sid !== null && doc.property_sid !== property.id)) continue;
      add(r.id, renderTracking(doc, params, name));
    }
  },
  success: ANY_2XX,
  sample(target) {
    const sid = (target.doc as unknown as TrackingWebhookDoc).property_sid;
    const now = target.updated_at;
    // The webhook's own property when it names one (the route adds it); else a sample Site.
    const resources: Resource[] = sid !== null ? [] : [{
      id: SAMPLE_PROPERTY_SID, account_id: target.account_id, kind: RESOURCE_KINDS.property, doc: { ...SAMPLE_PROPERTY },
      enabled: true, disabled_reason: null, created_at: now, updated_at: now, last_success_at: null, failing_since: null,
    }];
    return {
      kind: 'inbound',
      resources,
      prepare: (call) => {
        call.tracking = { property_sid: sid ?? SAMPLE_PROPERTY_SID };
      },
    };
  },
};
