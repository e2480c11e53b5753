import type { Call, CallEvent } from '../calls/model.ts';
import { OUTCOMES, firstAnsweredLeg, firstLeg, iso } from '../calls/model.ts';
import { channelsSignature, requestedUrl } from '../delivery/signing.ts';
import type { Resource } from '../store/contract.ts';
import { RESOURCE_KINDS } from '../targets/model.ts';
import { ANY_2XX, JSON_HEADERS, type Format, type Rendered } from './format.ts';

/** Seed 002: the statuses each subscription event knows. */
export const CHANNEL_STATUSES = {
  'voice.inbound': ['starting', 'ringing', 'ongoing', 'completed', 'no-answer', 'busy', 'failed'],
  'voice.outbound': ['accepted', 'starting', 'ringing', 'ongoing', 'completed', 'no-answer', 'busy', 'failed', 'cancelled'],
} as const;
export type ChannelEvent = keyof typeof CHANNEL_STATUSES;
export const CHANNEL_EVENTS = Object.keys(CHANNEL_STATUSES) as ChannelEvent[];

export interface SubscriptionDoc {
  service: 'channels';
  event: ChannelEvent;
  url: string;
  signing_key: string | null;
  eventFilters: { key: 'status' | 'channelId'; value: string }[];
}

/**
 * The seed-002 status an event announces, or null when the format has none for it: `accepted`
 * (outbound only), `starting`/`ringing` of the first leg, `ongoing` at the first answer, and the
 * outcome at the end. An inbound call has no `cancelled`: a caller who hangs up unanswered is
 * reported as `no-answer`.
 */
export function channelStatus(call: Call, event: CallEvent): string | null {
  switch (event.type) {
    case 'call.accepted':
      return call.direction === 'outbound' ? 'accepted' : null;
    case 'leg.initiated':
      return event.leg === firstLeg(call)?.name ? 'starting' : null;
    case 'leg.ringing':
      return event.leg === firstLeg(call)?.name ? 'ringing' : null;
    case 'leg.answered':
      return event.leg === firstAnsweredLeg(call)?.name && event.occurred_at === firstAnsweredLeg(call)?.answered_at ? 'ongoing' : null;
    case 'call.ended': {
      const outcome = event.data.outcome ?? 'completed';
      return call.direction === 'inbound' && outcome === 'cancelled' ? 'no-answer' : outcome;
    }
    default:
      return null;
  }
}

export function channelEventOf(call: Call): ChannelEvent {
  return call.direction === 'inbound' ? 'voice.inbound' : 'voice.outbound';
}

/** Filters of different keys AND; `status` values OR; a channelId filter needs the call's channel. */
export function subscriptionMatches(doc: SubscriptionDoc, call: Call, status: string): boolean {
  if (doc.event !== channelEventOf(call)) return false;
  const statuses = doc.eventFilters.filter((f) => f.key === 'status').map((f) => f.value);
  if (statuses.length > 0 && !statuses.includes(status)) return false;
  const channel = doc.eventFilters.find((f) => f.key === 'channelId');
  if (channel && channel.value !== call.channel_id) return false;
  return true;
}

export function renderChannels(doc: SubscriptionDoc, call: Call, event: CallEvent, status: string): Rendered {
  const payload: Record<string, unknown> = {
    id: call.id,
    channelId: call.channel_id,
    direction: call.direction,
    status,
    from: call.from,
    to: call.to,
    createdAt: iso(call.created_at),
    updatedAt: iso(event.occurred_at),
  };
  if (event.type === 'call.ended') {
    payload.duration = call.duration;
    if (call.recording_url) payload.recordingUrl = call.recording_url;
  }
  const body = JSON.stringify({ service: 'channels', event: doc.event, payload });
  return { event_name: status, request: { method: 'POST', url: doc.url, headers: { ...JSON_HEADERS }, body } };
}

/** Seed 002: account-wide subscriptions, by direction (the subscription's event), status and channel. */
export const channelsFormat: Format<Map<string, Resource[]>> = {
  name: 'channels',
  kind: RESOURCE_KINDS.subscription,
  events: CHANNEL_STATUSES['voice.outbound'],
  testEvent: 'completed',
  index: (targets) => Map.groupBy(targets, (r) => String(r.doc.event)),
  plan(call, event, targets, add) {
    const subs = targets.index.get(channelEventOf(call));
    if (!subs) return;
    const status = channelStatus(call, event);
    if (status === null) return;
    for (const r of subs) {
      const doc = r.doc as unknown as SubscriptionDoc;
      if (subscriptionMatches(doc, call, status)) add(r.id, renderChannels(doc, call, event, status));
    }
  },
  success: ANY_2XX,
  sign(request, settings, deliveryId, timestampSec): Record<string, string> {
    if (settings.signing_key === null) return {};
    return {
      'messagebird-request-timestamp': String(timestampSec),
      'messagebird-signature': channelsSignature(settings.signing_key, timestampSec, requestedUrl(request.url), request.body ?? ''),
      'messagebird-request-id': deliveryId,
    };
  },
  sample(target) {
    const doc = target.doc as unknown as SubscriptionDoc;
    const channel = doc.eventFilters.find((f) => f.key === 'channelId');
    // A subscription to some end statuses only: the sample call ends with one of them.
    const statuses = doc.eventFilters.filter((f) => f.key === 'status').map((f) => f.value);
    const ends = OUTCOMES.filter((o) => statuses.includes(o));
    return {
      kind: doc.event === 'voice.inbound' ? 'inbound' : 'outbound',
      ...(statuses.length > 0 && !statuses.includes('completed') && ends.length > 0 ? { outcome: ends[0]! } : {}),
      prepare: (call) => {
        if (channel) call.channel_id = channel.value;
      },
    };
  },
};
