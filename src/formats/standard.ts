import type { Call, CallEvent, EventType, Outcome } from '../calls/model.ts';
import { EVENT_TYPES, iso } from '../calls/model.ts';
import { callView, eventView } from '../calls/view.ts';
import type { Resource } from '../store/contract.ts';
import { RESOURCE_KINDS, type EndpointDoc } from '../targets/model.ts';
import { ANY_2XX, targetHeaders, type Format, type Rendered } from './format.ts';

/**
 * The native format: Standard Webhooks. Body `{type, timestamp, data}` where `type` is the
 * canonical event and `data` holds the event and the call as it stands after it. The
 * `webhook-*` signature headers are added at send time (the timestamp is the send time).
 */
export function renderStandard(call: Call, event: CallEvent, doc: EndpointDoc, memo?: Map<string, unknown>): Rendered {
  // The same text as JSON.stringify({type, timestamp, data: {event, call}}), with the call's JSON
  // made once per planned write: a simulated call's step plans four events of one call state.
  let snapshot = memo?.get(SNAPSHOT) as string | undefined;
  if (snapshot === undefined) {
    const { events: _events, ...view } = callView(call, []);
    snapshot = JSON.stringify(view);
    memo?.set(SNAPSHOT, snapshot);
  }
  const body = `{"type":${JSON.stringify(event.type)},"timestamp":${JSON.stringify(iso(event.occurred_at))},`
    + `"data":{"event":${JSON.stringify({ call_id: call.id, ...eventView(event) })},"call":${snapshot}}}`;
  return {
    event_name: event.type,
    request: { method: 'POST', url: doc.url, headers: targetHeaders(doc.headers), body },
  };
}

const SNAPSHOT = 'standard.call';

interface EndpointTarget {
  resource: Resource;
  doc: EndpointDoc;
}

/** Every given filter must match; the outcome is known only at the end, so it filters call.ended alone. */
function endpointMatches(doc: EndpointDoc, call: Call, event: CallEvent): boolean {
  const f = doc.filters;
  if (f.direction && f.direction.length > 0 && !f.direction.includes(call.direction)) return false;
  if (f.channel_id && f.channel_id.length > 0 && (call.channel_id === null || !f.channel_id.includes(call.channel_id))) return false;
  if (f.outcome && f.outcome.length > 0 && event.type === 'call.ended' && !f.outcome.includes(event.data.outcome ?? '')) return false;
  return true;
}

/** The native format: endpoints by canonical event type, so fan-out never scans one an event cannot match. */
export const standardFormat: Format<Map<EventType, EndpointTarget[]>> = {
  name: 'standard',
  kind: RESOURCE_KINDS.endpoint,
  events: EVENT_TYPES,
  testEvent: 'call.ended',
  index(targets) {
    const byEvent = new Map<EventType, EndpointTarget[]>(EVENT_TYPES.map((t) => [t, []]));
    for (const resource of targets) {
      const doc = resource.doc as unknown as EndpointDoc;
      for (const type of doc.events.length === 0 ? EVENT_TYPES : doc.events) byEvent.get(type)?.push({ resource, doc });
    }
    return byEvent;
  },
  plan(call, event, targets, add) {
    for (const t of targets.index.get(event.type) ?? []) {
      if (endpointMatches(t.doc, call, event)) add(t.resource.id, renderStandard(call, event, t.doc, targets.memo));
    }
  },
  success: ANY_2XX,
  sample(target) {
    const f = (target.doc as unknown as EndpointDoc).filters;
    return {
      kind: f.direction?.length === 1 && f.direction[0] === 'inbound' ? 'inbound' : 'outbound',
      ...(f.outcome && f.outcome.length > 0 ? { outcome: f.outcome[0] as Outcome } : {}),
      prepare: (call) => {
        if (f.channel_id && f.channel_id.length > 0) call.channel_id = f.channel_id[0]!;
      },
    };
  },
};
