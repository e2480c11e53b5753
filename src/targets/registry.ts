import type { EventType } from '../calls/model.ts';
import { EVENT_TYPES } from '../calls/model.ts';
import type { Clock } from '../clock.ts';
import type { Resource, Store } from '../store/contract.ts';
import { RESOURCE_KINDS, activeSecrets, type EndpointDoc, type SendSettings, DEFAULT_SEND } from './model.ts';

export interface EndpointTarget {
  resource: Resource;
  doc: EndpointDoc;
}

/** One account's targets, indexed so fan-out never scans targets an event cannot match. */
export interface AccountTargets {
  loaded_at: number;
  endpointsByEvent: Map<EventType, EndpointTarget[]>;
  byId: Map<string, Resource>;
  byKind: Map<string, Resource[]>;
  /** seed-002 subscriptions by their event */
  subscriptionsByEvent: Map<string, Resource[]>;
  /** seed-003 webhooks */
  trackingWebhooks: Resource[];
  /** the seed-004 integration, when saved */
  custom: Resource | undefined;
}

// A cached index is trusted this long. Writes in this process invalidate it at once; another
// process's writes (PostgreSQL, several processes) are seen within this time.
const TTL_MS = 1000;

/**
 * The targets of each account, cached in memory. Loaded once per account and second rather than
 * once per event: at 500 events/s that is 1 query instead of 500.
 */
export class TargetRegistry {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #cache = new Map<string, AccountTargets>();
  readonly #loading = new Map<string, Promise<AccountTargets>>();

  constructor(store: Store, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  invalidate(accountId: string): void {
    this.#cache.delete(accountId);
  }

  async forAccount(accountId: string): Promise<AccountTargets> {
    const hit = this.#cache.get(accountId);
    if (hit && Date.now() - hit.loaded_at < TTL_MS) return hit;
    let p = this.#loading.get(accountId);
    if (!p) {
      p = this.#load(accountId).finally(() => this.#loading.delete(accountId));
      this.#loading.set(accountId, p);
    }
    return p;
  }

  async #load(accountId: string): Promise<AccountTargets> {
    const kinds = Object.values(RESOURCE_KINDS);
    const all = await Promise.all(kinds.map((k) => this.#store.listResources(accountId, k)));
    const t: AccountTargets = {
      loaded_at: Date.now(), endpointsByEvent: new Map(), byId: new Map(), byKind: new Map(),
      subscriptionsByEvent: new Map(), trackingWebhooks: [], custom: undefined,
    };
    for (const [i, kind] of kinds.entries()) {
      t.byKind.set(kind, all[i]!);
      for (const r of all[i]!) t.byId.set(r.id, r);
    }
    for (const type of EVENT_TYPES) t.endpointsByEvent.set(type, []);
    // Disabled targets are indexed too: what they match gets its delivery row, which the
    // dispatcher marks dead with the reason, so it can be replayed from the log once re-enabled.
    for (const r of t.byKind.get(RESOURCE_KINDS.endpoint)!) {
      const doc = r.doc as unknown as EndpointDoc;
      const types = doc.events.length === 0 ? EVENT_TYPES : doc.events;
      for (const type of types) t.endpointsByEvent.get(type)?.push({ resource: r, doc });
    }
    for (const r of t.byKind.get(RESOURCE_KINDS.subscription)!) {
      const event = String(r.doc.event);
      t.subscriptionsByEvent.set(event, [...(t.subscriptionsByEvent.get(event) ?? []), r]);
    }
    t.trackingWebhooks = t.byKind.get(RESOURCE_KINDS.trackingWebhook)!;
    t.custom = t.byKind.get(RESOURCE_KINDS.customIntegration)![0];
    this.#cache.set(accountId, t);
    return t;
  }

  /** How to send to a target now: its timeouts, limits and live secrets. */
  async sendSettings(accountId: string, targetId: string): Promise<SendSettings | undefined> {
    if (!targetId.startsWith('url:')) {
      let r = (await this.forAccount(accountId)).byId.get(targetId);
      if (!r) {
        // Made by another process after this cache was loaded? Look again before calling it deleted.
        this.invalidate(accountId);
        r = (await this.forAccount(accountId)).byId.get(targetId);
      }
      if (!r) return undefined;
      return settingsOf(r, this.#clock.now());
    }
    return DEFAULT_SEND;
  }
}

export function settingsOf(r: Resource, now: number): SendSettings {
  const doc = r.doc as Partial<EndpointDoc> & { signing_key?: string | null };
  return {
    resource_id: r.id,
    enabled: r.enabled,
    disabled_reason: r.disabled_reason,
    failing_since: r.failing_since,
    timeout_ms: doc.timeout_ms ?? DEFAULT_SEND.timeout_ms,
    connect_timeout_ms: doc.connect_timeout_ms ?? DEFAULT_SEND.connect_timeout_ms,
    concurrency: doc.concurrency ?? DEFAULT_SEND.concurrency,
    secrets: activeSecrets(doc.secrets ?? [], now),
    signing_key: doc.signing_key ?? null,
  };
}
