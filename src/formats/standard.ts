import type { Call, CallEvent } from '../calls/model.ts';
import { iso } from '../calls/model.ts';
import { callView, eventView } from '../calls/view.ts';
import type { EndpointDoc } from '../targets/model.ts';
import { JSON_HEADERS, type Rendered } from './format.ts';

/**
 * The native format: Standard Webhooks. Body `{type, timestamp, data}` where `type` is the
 * canonical event and `data` holds the event and the call as it stands after it. The
 * `webhook-*` signature headers are added at send time (the timestamp is the send time).
 */
export function renderStandard(call: Call, event: CallEvent, doc: EndpointDoc): Rendered {
  const { events: _events, ...snapshot } = callView(call, []);
  const body = JSON.stringify({
    type: event.type,
    timestamp: iso(event.occurred_at),
    data: { event: { call_id: call.id, ...eventView(event) }, call: snapshot },
  });
  return {
    event_name: event.type,
    request: { method: 'POST', url: doc.url, headers: { ...doc.headers, ...JSON_HEADERS }, body },
  };
}
