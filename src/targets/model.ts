import type { EventType } from '../calls/model.ts';

/** The wire formats of SPEC §5. */
export const FORMATS = ['standard', 'callback', 'push-report', 'channels', 'call-tracking', 'custom'] as const;
export type FormatName = (typeof FORMATS)[number];

/** Kinds of stored configuration (store `resources.kind`). */
export const RESOURCE_KINDS = {
  endpoint: 'endpoint',
  callbackProfile: 'callback_profile',
  webhook: 'webhook',
  subscription: 'subscription',
  property: 'property',
  trackingWebhook: 'tracking_webhook',
  customIntegration: 'custom_integration',
} as const;

/** A Standard Webhooks secret; during a rotation the old one signs beside the new one until it expires. */
export interface SecretEntry {
  secret: string;
  created_at: number;
  /** null: current; a time: retired, signs until then */
  expires_at: number | null;
}

/** SPEC §6 defaults: 5 s to connect, 15 s in all. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_TIMEOUT_MS = 15_000;
// 16 requests at once to one target: enough to keep a healthy receiver busy over keep-alive,
// few enough that one target cannot take the whole pool (256).
export const DEFAULT_CONCURRENCY = 16;
export const MAX_TIMEOUT_MS = 25_000;

/** What the dispatcher needs to know of a target at send time. */
export interface SendSettings {
  /** the resource id, or null for a target with no stored resource (a URL in a call's callback) */
  resource_id: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: number | null;
  timeout_ms: number;
  connect_timeout_ms: number;
  concurrency: number;
  /** Standard Webhooks secrets that sign now */
  secrets: string[];
  /** seed 002 signingKey */
  signing_key: string | null;
  /**
   * A native endpoint's URL as it is now, which its deliveries go to (null for other kinds: their
   * URL is rendered per event, or signed): a URL fixed after a failure is where the retries,
   * manual retries and recoveries of earlier events go.
   */
  url: string | null;
}

export const DEFAULT_SEND: SendSettings = {
  resource_id: null,
  enabled: true,
  disabled_reason: null,
  failing_since: null,
  timeout_ms: DEFAULT_TIMEOUT_MS,
  connect_timeout_ms: DEFAULT_CONNECT_TIMEOUT_MS,
  concurrency: DEFAULT_CONCURRENCY,
  secrets: [],
  signing_key: null,
  url: null,
};

/** A native endpoint's stored document (resource kind `endpoint`). */
export interface EndpointDoc {
  url: string;
  description: string | null;
  /** canonical event types; empty = all */
  events: EventType[];
  filters: { direction?: string[]; channel_id?: string[]; outcome?: string[] };
  headers: Record<string, string>;
  secrets: SecretEntry[];
  timeout_ms: number;
  connect_timeout_ms: number;
  concurrency: number;
}

export function activeSecrets(entries: readonly SecretEntry[], now: number): string[] {
  return entries.filter((s) => s.expires_at === null || s.expires_at > now).map((s) => s.secret);
}
