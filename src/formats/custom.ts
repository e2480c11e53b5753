import type { Call, CallEvent } from '../calls/model.ts';
import { firstAnsweredLeg, firstLeg } from '../calls/model.ts';
import type { Resource } from '../store/contract.ts';
import { RESOURCE_KINDS } from '../targets/model.ts';
import { targetHeaders, type Format, type Rendered } from './format.ts';
import { unixSeconds } from './time.ts';

/** Seed 004's six events. */
export const CUSTOM_EVENTS = ['call_initiated', 'call_ringing', 'call_answered', 'transcript', 'call_ended', 'error'] as const;
export type CustomEvent = (typeof CUSTOM_EVENTS)[number];

export interface CustomIntegrationDoc {
  url: string | null;
  headers: Record<string, string>;
  events: CustomEvent[];
}

export function customEventOf(call: Call, event: CallEvent): CustomEvent | null {
  switch (event.type) {
    case 'leg.initiated':
      return event.leg === firstLeg(call)?.name ? 'call_initiated' : null;
    case 'leg.ringing':
      return event.leg === firstLeg(call)?.name ? 'call_ringing' : null;
    case 'leg.answered': {
      const first = firstAnsweredLeg(call);
      return event.leg === first?.name && event.occurred_at === first.answered_at ? 'call_answered' : null;
    }
    case 'call.transcript':
      return 'transcript';
    case 'call.error':
      return 'error';
    case 'call.ended':
      return 'call_ended';
    default:
      return null;
  }
}

interface CallFacts {
  /** the call's per-account integer `number`: the seed's integer call id */
  id: number | null;
  from: string;
  to: string;
  source: string | null;
  direction: string;
}

function facts(call: Call): CallFacts {
  return { id: call.number ?? null, from: call.from, to: call.to, source: call.source, direction: call.direction };
}

/** Each event's payload, shaped as the seed's example: `transcript` and `error` nest the call. */
export function customPayload(name: CustomEvent, call: Call, event: CallEvent): Record<string, unknown> {
  const c = facts(call);
  const flat = { call_id: c.id, from: c.from, to: c.to, direction: c.direction, source: c.source };
  switch (name) {
    case 'call_initiated':
    case 'call_ringing':
    case 'call_answered':
      return flat;
    case 'transcript':
      return { call: c, type: event.data.speaker ?? 'customer', transcript: event.data.message ?? '', timestamp_utc: String(unixSeconds(event.occurred_at)) };
    case 'error':
      return { call: c, error_message: event.data.message ?? call.error_message ?? 'error' };
    case 'call_ended':
      return {
        ...flat,
        transcript: call.transcript.map((t) => ({ type: t.type, message: t.message, utc_timestamp: String(unixSeconds(t.at)) })),
      };
  }
}

export function customBody(name: CustomEvent, timestampMs: number, payload: Record<string, unknown>, isTest: boolean): string {
  return JSON.stringify({ event_type: name, timestamp_utc: unixSeconds(timestampMs), payload, is_test: isTest });
}

export function renderCustom(doc: CustomIntegrationDoc, call: Call, event: CallEvent, name: CustomEvent): Rendered {
  const body = customBody(name, event.occurred_at, customPayload(name, call, event), false);
  return { event_name: name, request: { method: 'POST', url: doc.url!, headers: targetHeaders(doc.headers), body } };
}

/** Seed 004: the account's one integration, for the events it subscribed to. */
export const customFormat: Format<Resource | undefined> = {
  name: 'custom',
  kind: RESOURCE_KINDS.customIntegration,
  events: CUSTOM_EVENTS,
  testEvent: 'call_initiated',
  index: (targets) => targets[0],
  plan(call, event, targets, add) {
    const r = targets.index;
    if (!r) return;
    const doc = r.doc as unknown as CustomIntegrationDoc;
    const name = customEventOf(call, event);
    if (name === null || doc.url === null || !doc.events.includes(name)) return;
    add(r.id, renderCustom(doc, call, event, name));
  },
  // Seed 004: "If we do not receive a 200 OK response, we will consider the delivery a failure."
  success: (s) => s === 200,
  sample: () => ({ kind: 'outbound' }),
  // Seed 004: "is_test ... will be true if the event was triggered by the Test Webhook Integration button".
  asTest: (request) => ({ ...request, body: JSON.stringify({ ...JSON.parse(request.body ?? '{}'), is_test: true }) }),
};
