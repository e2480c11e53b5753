import { randomBytes } from 'node:crypto';
import { checkTargetUrl } from '../delivery/address-guard.ts';
import { redactHeaders } from '../delivery/redact.ts';
import { HooklineError, fieldError, type FieldError } from '../errors.ts';
import { newId, newIdShape } from '../ids.ts';
import type { Store } from '../store/contract.ts';
import { CHANNEL_EVENTS, CHANNEL_STATUSES, type ChannelEvent, type SubscriptionDoc } from '../formats/channels.ts';
import { TRACKING_EVENTS, type PropertyDoc, type TrackingEvent, type TrackingWebhookDoc } from '../formats/call-tracking.ts';
import { CUSTOM_EVENTS, type CustomEvent, type CustomIntegrationDoc } from '../formats/custom.ts';
import { checkHeaders, secretsOf, type Signed } from './endpoints.ts';
import { RESOURCE_KINDS, type SecretEntry } from './model.ts';
import type { ResourceSpec } from './resources.ts';

const iso = (ms: number) => new Date(ms).toISOString();

function badFilter(field: string, message: string): HooklineError {
  const e: FieldError = { field, code: 'invalid_filter', message };
  return new HooklineError('invalid_filter', message, { field, errors: [e] });
}

// ---------------------------------------------------------------------------------------------
// Seed 002: channel subscriptions

export interface SubscriptionInput {
  service: string;
  event: string;
  url: string;
  signingKey?: string | null;
  eventFilters?: { key: string; value: string }[];
  secret?: string | null;
  enabled?: boolean;
  /** internal: carried over on update */
  secrets?: SecretEntry[];
}

export function subscriptionSpec(allowPrivate: boolean): ResourceSpec<SubscriptionDoc & Signed, SubscriptionInput> {
  return {
    kind: RESOURCE_KINDS.subscription,
    noun: 'subscription',
    newId: (now) => newId('sub', now),
    idShape: newIdShape('sub'),
    build(input) {
      if (input.service !== 'channels') throw fieldError('invalid_field', 'service', 'service must be "channels"');
      if (!(CHANNEL_EVENTS as string[]).includes(input.event)) throw fieldError('invalid_field', 'event', `event must be one of ${CHANNEL_EVENTS.join(', ')}`);
      const event = input.event as ChannelEvent;
      checkTargetUrl(input.url, allowPrivate);
      const filters = input.eventFilters ?? [];
      const allowed: readonly string[] = CHANNEL_STATUSES[event];
      let channelIds = 0;
      for (const [i, f] of filters.entries()) {
        const at = `eventFilters[${i}]`;
        if (f.key === 'channelId') {
          if (++channelIds > 1) throw badFilter(at, `${at}: a subscription takes at most one channelId filter`);
        } else if (f.key === 'status') {
          if (!allowed.includes(f.value)) throw badFilter(`${at}.value`, `${at}.value: "${f.value}" is not a status of ${event}; use one of ${allowed.join(', ')}`);
        } else {
          throw badFilter(`${at}.key`, `${at}.key: unknown filter key "${f.key}"; use status or channelId`);
        }
      }
      return {
        service: 'channels', event, url: input.url, signing_key: input.signingKey ?? null,
        eventFilters: filters.map((f) => ({ key: f.key as 'status' | 'channelId', value: f.value })),
        secrets: secretsOf(input.secret, input.secrets),
      };
    },
    toInput: (d) => ({
      service: d.service, event: d.event, url: d.url, signingKey: d.signing_key, eventFilters: d.eventFilters,
      secrets: d.secrets ?? [],
    }),
    view: (r, d) => ({
      id: r.id, service: d.service, event: d.event, url: d.url, eventFilters: d.eventFilters,
      // the seed's camelCase beside the disabled_reason every kind shows
      signingKey: d.signing_key === null ? null : '[redacted]', enabled: r.enabled, disabled_reason: r.disabled_reason, disabledReason: r.disabled_reason,
      createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Seed 003: properties and call-tracking webhooks

export interface PropertyInput {
  name: string;
  type?: 'Site';
}

export const propertySpec: ResourceSpec<PropertyDoc, PropertyInput> = {
  kind: RESOURCE_KINDS.property,
  noun: 'property',
  // Fone Dynamics style secure identifiers: a prefix and 32 hex digits.
  newId: () => `PR${randomBytes(16).toString('hex')}`,
  idShape: /^PR[0-9a-f]{32}$/,
  build: (input) => ({ name: input.name, type: input.type ?? 'Site' }),
  toInput: (d) => ({ ...d }),
  view: (r, d) => ({ sid: r.id, object: 'property', name: d.name, type: d.type, created_at: iso(r.created_at), updated_at: iso(r.updated_at) }),
};

export interface TrackingWebhookInput {
  url: string;
  method?: 'GET' | 'POST';
  property_sid?: string | null;
  events?: TrackingEvent[];
  secret?: string | null;
  enabled?: boolean;
  secrets?: SecretEntry[];
}

export function trackingWebhookSpec(allowPrivate: boolean, store: Store): ResourceSpec<TrackingWebhookDoc & Signed, TrackingWebhookInput> {
  return {
    kind: RESOURCE_KINDS.trackingWebhook,
    noun: 'call-tracking webhook',
    newId: (now) => newId('ctw', now),
    idShape: newIdShape('ctw'),
    async build(input, accountId) {
      checkTargetUrl(input.url, allowPrivate);
      const property_sid = input.property_sid ?? null;
      if (property_sid !== null && !(await store.getResource(accountId, RESOURCE_KINDS.property, property_sid))) {
        throw new HooklineError('unknown_reference', `property_sid: no property "${property_sid}" in this account`, { field: 'property_sid' });
      }
      return {
        url: input.url, method: input.method ?? 'POST', property_sid, events: [...new Set(input.events ?? TRACKING_EVENTS)],
        secrets: secretsOf(input.secret, input.secrets),
      };
    },
    toInput: (d) => ({ url: d.url, method: d.method, property_sid: d.property_sid, events: d.events, secrets: d.secrets ?? [] }),
    view: (r, d) => ({
      id: r.id, object: 'call_tracking_webhook', url: d.url, method: d.method, property_sid: d.property_sid, events: d.events,
      enabled: r.enabled, disabled_reason: r.disabled_reason, created_at: iso(r.created_at), updated_at: iso(r.updated_at),
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Seed 004: the custom webhook integration (one per account)

export interface CustomIntegrationInput {
  enabled?: boolean;
  url?: string | null;
  headers?: Record<string, string>;
  events?: CustomEvent[];
  secret?: string | null;
  /** internal: carried over on update */
  secrets?: SecretEntry[];
}

export const customIntegrationId = (accountId: string) => `cwh_${accountId}`;

/** Seed 004: one integration per account at a fixed id; PUT replaces it, PATCH changes some fields. */
export function customIntegrationSpec(allowPrivate: boolean): ResourceSpec<CustomIntegrationDoc & Signed, CustomIntegrationInput> {
  return {
    kind: RESOURCE_KINDS.customIntegration,
    noun: 'custom webhook integration',
    newId: () => 'cwh_',
    idShape: /^cwh_/,
    build(input) {
      const url = input.url ?? null;
      if (url !== null) checkTargetUrl(url, allowPrivate);
      const headers = input.headers ?? {};
      checkHeaders(headers);
      // Absent events means every event; an empty list means none.
      return { url, headers, events: [...new Set(input.events ?? CUSTOM_EVENTS)], secrets: secretsOf(input.secret, input.secrets) };
    },
    // A PUT replaces url, headers and events; the secret stays unless given (it is never shown back).
    toInput: (d, replacing) => (replacing ? { secrets: d.secrets ?? [] } : { url: d.url, headers: d.headers, events: d.events, secrets: d.secrets ?? [] }),
    view: (r, d) => ({
      object: 'custom_webhook_integration', enabled: r.enabled, url: d.url, headers: redactHeaders(d.headers), events: d.events,
      disabled_reason: r.disabled_reason, updated_at: iso(r.updated_at),
    }),
  };
}

/** The integration's view before it was ever saved. */
export const UNSAVED_CUSTOM_INTEGRATION = {
  object: 'custom_webhook_integration', enabled: false, url: null, headers: {}, events: [...CUSTOM_EVENTS], disabled_reason: null, updated_at: null,
} as const;
