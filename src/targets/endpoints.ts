import type { Clock } from '../clock.ts';
import { checkTargetUrl } from '../delivery/address-guard.ts';
import { redactHeaders, restoreRedacted } from '../delivery/redact.ts';
import { generateSecret } from '../delivery/signing.ts';
import { HooklineError, fieldError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Resource, Store } from '../store/contract.ts';
import type { EventType } from '../calls/model.ts';
import {
  DEFAULT_CONCURRENCY, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_TIMEOUT_MS, RESOURCE_KINDS, activeSecrets, type EndpointDoc,
} from './model.ts';
import type { TargetRegistry } from './registry.ts';
import { DISABLED_BY_USER } from './resources.ts';

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

/** Native Standard Webhooks endpoints: CRUD, secret reveal and rotation. */
export class Endpoints {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #registry: TargetRegistry;
  readonly #allowPrivate: boolean;

  constructor(deps: { store: Store; clock: Clock; registry: TargetRegistry; allowPrivate: boolean }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#registry = deps.registry;
    this.#allowPrivate = deps.allowPrivate;
  }

  async get(accountId: string, id: string): Promise<Resource> {
    const r = await this.#store.getResource(accountId, RESOURCE_KINDS.endpoint, id);
    if (!r) throw new HooklineError('not_found', `no endpoint ${id}`);
    return r;
  }

  list(accountId: string): Promise<Resource[]> {
    return this.#store.listResources(accountId, RESOURCE_KINDS.endpoint);
  }

  async create(accountId: string, input: EndpointInput & { url: string }): Promise<Resource> {
    checkTargetUrl(input.url, this.#allowPrivate);
    if (input.headers) checkHeaders(input.headers);
    const now = this.#clock.now();
    const doc: EndpointDoc = {
      url: input.url,
      description: input.description ?? null,
      events: [...new Set(input.events ?? [])],
      filters: input.filters ?? {},
      headers: input.headers ?? {},
      secrets: [{ secret: input.secret ?? generateSecret(), created_at: now, expires_at: null }],
      timeout_ms: input.timeout_ms ?? DEFAULT_TIMEOUT_MS,
      connect_timeout_ms: input.connect_timeout_ms ?? DEFAULT_CONNECT_TIMEOUT_MS,
      concurrency: input.concurrency ?? DEFAULT_CONCURRENCY,
    };
    const r: Resource = {
      id: newId('ep', now), account_id: accountId, kind: RESOURCE_KINDS.endpoint, doc: doc as unknown as Record<string, unknown>,
      enabled: input.enabled ?? true, disabled_reason: input.enabled === false ? DISABLED_BY_USER : null, created_at: now, updated_at: now, last_success_at: null, failing_since: null,
    };
    await this.#save(r);
    return r;
  }

  async update(accountId: string, id: string, input: EndpointInput): Promise<Resource> {
    const r = await this.get(accountId, id);
    const doc = r.doc as unknown as EndpointDoc;
    const now = this.#clock.now();
    if (input.url !== undefined) {
      checkTargetUrl(input.url, this.#allowPrivate);
      doc.url = input.url;
    }
    if (input.headers !== undefined) {
      const headers = restoreRedacted(input.headers, doc.headers);
      checkHeaders(headers);
      doc.headers = headers;
    }
    if (input.description !== undefined) doc.description = input.description;
    if (input.events !== undefined) doc.events = [...new Set(input.events)];
    if (input.filters !== undefined) doc.filters = input.filters;
    if (input.timeout_ms !== undefined) doc.timeout_ms = input.timeout_ms;
    if (input.connect_timeout_ms !== undefined) doc.connect_timeout_ms = input.connect_timeout_ms;
    if (input.concurrency !== undefined) doc.concurrency = input.concurrency;
    if (input.secret !== undefined) this.#rotate(doc, input.secret, now);
    if (input.enabled !== undefined) {
      // Re-enabling starts the failure window afresh.
      if (input.enabled && !r.enabled) {
        r.disabled_reason = null;
        r.failing_since = null;
      }
      if (!input.enabled && r.enabled) r.disabled_reason = DISABLED_BY_USER;
      r.enabled = input.enabled;
    }
    r.updated_at = now;
    await this.#save(r);
    return r;
  }

  async rotateSecret(accountId: string, id: string, secret?: string): Promise<Resource> {
    const r = await this.get(accountId, id);
    const now = this.#clock.now();
    this.#rotate(r.doc as unknown as EndpointDoc, secret ?? generateSecret(), now);
    r.updated_at = now;
    await this.#save(r);
    return r;
  }

  #rotate(doc: EndpointDoc, secret: string, now: number): void {
    doc.secrets = [
      ...doc.secrets
        .filter((s) => s.expires_at === null || s.expires_at > now)
        .map((s) => ({ ...s, expires_at: s.expires_at ?? now + ROTATION_OVERLAP_MS })),
      { secret, created_at: now, expires_at: null },
    ];
  }

  async delete(accountId: string, id: string): Promise<void> {
    if (!(await this.#store.deleteResource(accountId, RESOURCE_KINDS.endpoint, id))) throw new HooklineError('not_found', `no endpoint ${id}`);
    this.#registry.invalidate(accountId);
  }

  async #save(r: Resource): Promise<void> {
    await this.#store.putResource(r);
    this.#registry.invalidate(r.account_id);
  }
}
