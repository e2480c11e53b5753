import type { Clock } from '../clock.ts';
import { checkTargetUrl } from '../delivery/address-guard.ts';
import { redactHeaders } from '../delivery/redact.ts';
import { generateSecret, isValidSecret } from '../delivery/signing.ts';
import { fieldError } from '../errors.ts';
import { newId, newIdShape } from '../ids.ts';
import type { Resource } from '../store/contract.ts';
import type { EventType } from '../calls/model.ts';
import {
  DEFAULT_CONCURRENCY, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_TIMEOUT_MS, RESOURCE_KINDS, activeSecrets, type EndpointDoc, type SecretEntry,
} from './model.ts';
import type { ResourceSpec } from './resources.ts';

/** During a rotation the old secret keeps signing beside the new one this long (24 h). */
export const ROTATION_OVERLAP_MS = 24 * 3600_000;

// Headers Hookline sets itself; a target may not override them.
const RESERVED_HEADERS = /^(host|content-length|content-type|transfer-encoding|connection|webhook-.*|hookline-.*|messagebird-.*)$/i;
// The rules undici applies when it sends (lib/core/request.js, processHeader): a name is an
// RFC 9110 token, a value has only HTAB, visible ASCII, space and obs-text (no CR, LF, NUL,
// nothing past U+00FF), and these names it refuses outright. Checked on save, so a header that
// could never be sent is a 400 now rather than a failed attempt on every delivery later.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;
const UNSENDABLE_HEADERS = /^(keep-alive|upgrade|expect)$/i;

export interface EndpointInput {
  url?: string;
  description?: string | null;
  events?: EventType[];
  filters?: EndpointDoc['filters'];
  headers?: Record<string, string>;
  secret?: string;
  enabled?: boolean;
  timeout_ms?: number;
  connect_timeout_ms?: number;
  concurrency?: number;
}

/** Names and values as undici will accept them at send time; says nothing of which names a target may set. */
export function checkHeaderSyntax(headers: Record<string, string>, field = 'headers'): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw fieldError('invalid_field', `${field}.${name}`, `${field}: ${JSON.stringify(name)} is not a valid header name`);
    if (UNSENDABLE_HEADERS.test(name)) throw fieldError('invalid_field', `${field}.${name}`, `${field}: ${name} cannot be sent by Hookline's HTTP client`);
    const bad = BAD_VALUE_CHAR.exec(value);
    if (bad) {
      const code = `U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
      throw fieldError('invalid_field', `${field}.${name}`, `${field}.${name}: the value has ${code}; header values may not hold CR, LF, NUL, other control characters or characters past U+00FF`);
    }
  }
}

/** A target of any kind besides native endpoints may carry a Standard Webhooks secret (SPEC: "any target of any format"). */
export type Signed = { secrets?: SecretEntry[] };

/** The stored secrets after an input's `secret`: unchanged when not given, none when null, else this one alone. */
export function secretsOf(secret: string | null | undefined, prior: SecretEntry[] | undefined): SecretEntry[] {
  if (secret === undefined) return prior ?? [];
  if (secret === null) return [];
  if (!isValidSecret(secret)) throw fieldError('invalid_field', 'secret', 'secret must be whsec_ followed by base64 of 24 to 64 bytes');
  return [{ secret, created_at: Date.now(), expires_at: null }];
}

/** A target's extra headers: sendable, and none Hookline sets itself. */
export function checkHeaders(headers: Record<string, string>, field = 'headers'): void {
  checkHeaderSyntax(headers, field);
  for (const name of Object.keys(headers)) {
    if (RESERVED_HEADERS.test(name)) throw fieldError('invalid_field', `${field}.${name}`, `${field}: ${name} is set by Hookline and cannot be overridden`);
  }
}

/** An endpoint as the API shows it; the secret only where the caller asked for it. */
export function endpointView(r: Resource, withSecret = false, now = Date.now()): Record<string, unknown> {
  const doc = r.doc as unknown as EndpointDoc;
  const view: Record<string, unknown> = {
    id: r.id,
    object: 'endpoint',
    url: doc.url,
    description: doc.description,
    events: doc.events,
    filters: doc.filters,
    headers: redactHeaders(doc.headers),
    enabled: r.enabled,
    disabled_reason: r.disabled_reason,
    timeout_ms: doc.timeout_ms,
    connect_timeout_ms: doc.connect_timeout_ms,
    concurrency: doc.concurrency,
    created_at: new Date(r.created_at).toISOString(),
    updated_at: new Date(r.updated_at).toISOString(),
    last_success_at: r.last_success_at === null ? null : new Date(r.last_success_at).toISOString(),
    failing_since: r.failing_since === null ? null : new Date(r.failing_since).toISOString(),
  };
  if (withSecret) view.secret = activeSecrets(doc.secrets, now).at(-1) ?? null;
  return view;
}

/** The secrets after a rotation to `secret`: the live ones keep signing for 24 h beside it. */
function rotated(prior: readonly SecretEntry[], secret: string, now: number): SecretEntry[] {
  return [
    ...prior
      .filter((s) => s.expires_at === null || s.expires_at > now)
      .map((s) => ({ ...s, expires_at: s.expires_at ?? now + ROTATION_OVERLAP_MS })),
    { secret, created_at: now, expires_at: null },
  ];
}

/**
 * Native Standard Webhooks endpoints, a kind like every other (resources.ts). A given `secret`
 * rotates (the first one, on create, is generated when none is given); the stored secrets ride
 * along on updates as `secrets`.
 */
export function endpointSpec(allowPrivate: boolean, clock: Clock): ResourceSpec<EndpointDoc, EndpointInput & { secrets?: SecretEntry[] }> {
  return {
    kind: RESOURCE_KINDS.endpoint,
    noun: 'endpoint',
    newId: (now) => newId('ep', now),
    idShape: newIdShape('ep'),
    build(input) {
      if (input.url === undefined) throw fieldError('missing_field', 'url', 'url is required');
      checkTargetUrl(input.url, allowPrivate);
      if (input.headers) checkHeaders(input.headers);
      const now = clock.now();
      const secrets = input.secret !== undefined
        ? rotated(input.secrets ?? [], input.secret, now)
        : input.secrets ?? [{ secret: generateSecret(), created_at: now, expires_at: null }];
      return {
        url: input.url,
        description: input.description ?? null,
        events: [...new Set(input.events ?? [])],
        filters: input.filters ?? {},
        headers: input.headers ?? {},
        secrets,
        timeout_ms: input.timeout_ms ?? DEFAULT_TIMEOUT_MS,
        connect_timeout_ms: input.connect_timeout_ms ?? DEFAULT_CONNECT_TIMEOUT_MS,
        concurrency: input.concurrency ?? DEFAULT_CONCURRENCY,
      };
    },
    toInput: (d) => ({
      url: d.url, description: d.description, events: d.events, filters: d.filters, headers: d.headers, secrets: d.secrets,
      timeout_ms: d.timeout_ms, connect_timeout_ms: d.connect_timeout_ms, concurrency: d.concurrency,
    }),
    view: (r) => endpointView(r, false, clock.now()),
  };
}
