import type { Call, CallEvent } from '../calls/model.ts';
import type { FanOut } from '../calls/service.ts';
import { callbackEventName, callbackVars, renderCallbackUrl, renderProfile, type CallbackProfileDoc } from '../formats/callback.ts';
import type { Rendered } from '../formats/format.ts';
import { renderReport, type WebhookDoc } from '../formats/push-report.ts';
import { renderStandard } from '../formats/standard.ts';
import { channelEventOf, channelStatus, renderChannels, subscriptionMatches, type SubscriptionDoc } from '../formats/channels.ts';
import { renderTracking, trackingEventOf, trackingParams, type PropertyDoc, type TrackingWebhookDoc } from '../formats/call-tracking.ts';
import { customEventOf, renderCustom, type CustomIntegrationDoc } from '../formats/custom.ts';
import { newId } from '../ids.ts';
import type { NewDelivery } from '../store/contract.ts';
import { RESOURCE_KINDS, type FormatName } from './model.ts';
import type { AccountTargets, EndpointTarget, TargetRegistry } from './registry.ts';

function endpointMatches(t: EndpointTarget, call: Call, event: CallEvent): boolean {
  const f = t.doc.filters;
  if (f.direction && f.direction.length > 0 && !f.direction.includes(call.direction)) return false;
  if (f.channel_id && f.channel_id.length > 0 && (call.channel_id === null || !f.channel_id.includes(call.channel_id))) return false;
  // The outcome is known only at the end, so it filters call.ended events alone.
  if (f.outcome && f.outcome.length > 0 && event.type === 'call.ended' && !f.outcome.includes(event.data.outcome ?? '')) return false;
  return true;
}

type Add = (event: CallEvent, format: FormatName, targetId: string, r: Rendered) => void;

/** Seed 000: the call's own `callback` parameter, per event it lists. */
function planCallbacks(call: Call, event: CallEvent, targets: AccountTargets, add: Add): void {
  if (!call.callback) return;
  const name = callbackEventName(call, event);
  const entry = name === null ? undefined : call.callback[name];
  if (!entry || name === null) return;
  const vars = callbackVars(call, event, name);
  for (const id of entry.callback_profile) {
    const r = targets.byId.get(id);
    // A profile deleted after the call was placed has nothing left to call.
    if (r?.kind !== RESOURCE_KINDS.callbackProfile) continue;
    add(event, 'callback', id, renderProfile(r.doc as unknown as CallbackProfileDoc, vars, name));
  }
  for (const url of entry.url) add(event, 'callback', `url:${url}`, renderCallbackUrl(url, vars, name));
}

/** Seed 001: one report per call, when it ends, to the webhook the call named. */
function planReport(call: Call, event: CallEvent, targets: AccountTargets, add: Add): void {
  if (event.type !== 'call.ended' || call.webhook_id === null) return;
  const r = targets.byId.get(call.webhook_id);
  // A disabled webhook still gets its row (dead, with the reason): nothing is dropped unseen.
  if (r?.kind !== RESOURCE_KINDS.webhook) return;
  add(event, 'push-report', r.id, renderReport(r.doc as unknown as WebhookDoc, call));
}

/** Seed 002: account-wide subscriptions by direction, status and channel. */
function planChannels(call: Call, event: CallEvent, targets: AccountTargets, add: Add): void {
  const subs = targets.subscriptionsByEvent.get(channelEventOf(call));
  if (!subs) return;
  const status = channelStatus(call, event);
  if (status === null) return;
  for (const r of subs) {
    const doc = r.doc as unknown as SubscriptionDoc;
    if (subscriptionMatches(doc, call, status)) add(event, 'channels', r.id, renderChannels(doc, call, event, status));
  }
}

/** Seed 003: calls that carry tracking data for one of the account's properties. */
function planTracking(call: Call, event: CallEvent, targets: AccountTargets, add: Add): void {
  if (!call.tracking || targets.trackingWebhooks.length === 0) return;
  const name = trackingEventOf(call, event);
  const property = targets.byId.get(call.tracking.property_sid);
  if (name === null || property?.kind !== RESOURCE_KINDS.property) return;
  const params = trackingParams(call.account_id, property.id, property.doc as unknown as PropertyDoc, call, name);
  for (const r of targets.trackingWebhooks) {
    const doc = r.doc as unknown as TrackingWebhookDoc;
    if (!doc.events.includes(name) || (doc.property_sid !== null && doc.property_sid !== property.id)) continue;
    add(event, 'call-tracking', r.id, renderTracking(doc, params, name));
  }
}

/** Seed 004: the account's custom integration, for the events it subscribed to. */
function planCustom(call: Call, event: CallEvent, targets: AccountTargets, add: Add): void {
  const r = targets.custom;
  if (!r) return;
  const doc = r.doc as unknown as CustomIntegrationDoc;
  const name = customEventOf(call, event);
  if (name === null || doc.url === null || !doc.events.includes(name)) return;
  add(event, 'custom', r.id, renderCustom(doc, call, event, name));
}

/**
 * Matches committed events to targets and renders each delivery once. Runs inside the call's
 * write, so an event and its deliveries are committed together (principle 1).
 */
export class TargetFanOut implements FanOut {
  readonly #registry: TargetRegistry;
  constructor(registry: TargetRegistry) {
    this.#registry = registry;
  }

  async plan(call: Call, events: CallEvent[], now: number): Promise<NewDelivery[]> {
    if (events.length === 0) return [];
    const targets = await this.#registry.forAccount(call.account_id);
    const out: NewDelivery[] = [];
    const add: Add = (event, format, targetId, r) => {
      out.push({
        id: newId('msg', now),
        account_id: call.account_id,
        call_id: call.id,
        event_seq: event.seq,
        event_type: event.type,
        event_name: r.event_name,
        target_format: format,
        target_id: targetId,
        order_key: targetId,
        request: r.request,
        created_at: now,
        next_attempt_at: now,
      });
    };
    for (const event of events) {
      for (const t of targets.endpointsByEvent.get(event.type) ?? []) {
        if (endpointMatches(t, call, event)) add(event, 'standard', t.resource.id, renderStandard(call, event, t.doc));
      }
      planCallbacks(call, event, targets, add);
      planReport(call, event, targets, add);
      planChannels(call, event, targets, add);
      planTracking(call, event, targets, add);
      planCustom(call, event, targets, add);
    }
    return out;
  }
}
