import type { Clock } from '../clock.ts';
import { FORMAT_LIST } from '../formats/registry.ts';
import type { Resource, Store } from '../store/contract.ts';
import { RESOURCE_KINDS, activeSecrets, type EndpointDoc, type SendSettings, DEFAULT_SEND } from './model.ts';

/** One account's targets: every resource by id and kind, and each format's own index of its targets. */
export interface AccountTargets {
  loaded_at: number;
  /** the Clock's time when the load began (loaded_at is the wall clock's, for the TTL) */
  read_as_of?: number;
  byId: Map<string, Resource>;
  byKind: Map<string, Resource[]>;
  indexes: Map<string, unknown>;
}

/**
 * Indexes targets for fan-out. Disabled targets are indexed too: what they match gets its
 * delivery row, which the dispatcher marks dead with the reason, so it can be replayed from the
 * log once re-enabled.
 */
export function indexTargets(resources: readonly Resource[], loadedAt: number): AccountTargets {
  const t: AccountTargets = { loaded_at: loadedAt, byId: new Map(), byKind: new Map(), indexes: new Map() };
  for (const r of resources) {
    t.byId.set(r.id, r);
    const list = t.byKind.get(r.kind);
    if (list) list.push(r);
    else t.byKind.set(r.kind, [r]);
  }
  for (const f of FORMAT_LIST) t.indexes.set(f.name, f.index(t.byKind.get(f.kind) ?? []));
  return t;
}

// A cached index is trusted this long. Writes in this process invalidate it at once (split
// mode's delivery thread too: onInvalidate); another process's writes (PostgreSQL, several
// processes) are seen within this time, except that a delivery made due after the index was
// loaded is not given up as disabled on its word (sendSettingsSince).
const TTL_MS = 1000;
// From this age on, a use of the cached index reloads it in the background: under traffic the
// index is renewed before it runs out, and no event waits for the reload (one query per kind;
// at PostgreSQL's fixed 500 events/s in the bench, 7 ms at p50 and up to 95 ms, once a second
// for every event in flight at that moment).
const RENEW_MS = 750;

/**
 * The targets of each account, cached in memory. Loaded once per account and second rather than
 * once per event: at 500 events/s that is 1 query instead of 500.
 */
export class TargetRegistry {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #cache = new Map<string, AccountTargets>();
  readonly #loading = new Map<string, Promise<AccountTargets>>();
  /** bumped by each invalidation: a load begun before it is not cached */
  readonly #generation = new Map<string, number>();
  /**
   * Each target's send settings, built once per loaded resource and kept until one of its
   * secrets expires: built per attempt they were ~1 KB of garbage each (4.5 % of what the
   * delivery thread allocates; bench/alloc-sample.ts). Keyed by the resource object, so a
   * reload of the account's targets (TTL_MS) starts afresh. Read-only for the callers.
   */
  readonly #settings = new WeakMap<Resource, { settings: SendSettings; until: number }>();
  readonly #listeners: ((accountId: string) => void)[] = [];

  constructor(store: Store, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  invalidate(accountId: string): void {
    this.#cache.delete(accountId);
    // a load under way may have read the targets before the write that invalidates: it must not be cached, nor waited for
    this.#loading.delete(accountId);
    this.#generation.set(accountId, (this.#generation.get(accountId) ?? 0) + 1);
    for (const f of this.#listeners) f(accountId);
  }

  /** `f` hears of every invalidation: split mode passes this thread's writes on to the delivery thread's registry. */
  onInvalidate(f: (accountId: string) => void): void {
    this.#listeners.push(f);
  }

  async forAccount(accountId: string): Promise<AccountTargets> {
    const hit = this.#fresh(accountId);
    if (hit) return hit;
    return this.#reload(accountId);
  }

  #reload(accountId: string): Promise<AccountTargets> {
    let p = this.#loading.get(accountId);
    if (!p) {
      const loading: Promise<AccountTargets> = this.#load(accountId).finally(() => {
        if (this.#loading.get(accountId) === loading) this.#loading.delete(accountId);
      });
      this.#loading.set(accountId, (p = loading));
    }
    return p;
  }

  async #load(accountId: string): Promise<AccountTargets> {
    const generation = this.#generation.get(accountId);
    // As of the load's start: a write committed while it ran may be missing from it.
    const started = Date.now();
    const asOf = this.#clock.now();
    const all = await Promise.all(Object.values(RESOURCE_KINDS).map((k) => this.#store.listResources(accountId, k)));
    const t = indexTargets(all.flat(), started);
    t.read_as_of = asOf;
    if (this.#generation.get(accountId) === generation) this.#cache.set(accountId, t);
    return t;
  }

  /** The account's targets as cached, while they are trusted (TTL_MS); renewed in the background from RENEW_MS on. */
  #fresh(accountId: string): AccountTargets | undefined {
    const hit = this.#cache.get(accountId);
    if (hit === undefined) return undefined;
    const age = Date.now() - hit.loaded_at;
    if (age >= TTL_MS) return undefined;
    // a failed renewal is left to the next use: once the index runs out, that use waits for a load and sees its error
    if (age >= RENEW_MS && !this.#loading.has(accountId)) this.#reload(accountId).catch(() => undefined);
    return hit;
  }

  /**
   * The target's send settings when they are known without a load; null when they are not
   * (the account's targets must be loaded, or the target is not among them): then
   * `sendSettings`. The dispatcher asks this for every attempt: an await per attempt cost two
   * promises and a turn of the microtask queue for an answer that is nearly always in memory.
   */
  sendSettingsNow(accountId: string, targetId: string): SendSettings | null {
    if (targetId.startsWith('url:')) return DEFAULT_SEND;
    const r = this.#fresh(accountId)?.byId.get(targetId);
    return r ? this.#settingsOf(r) : null;
  }

  #settingsOf(r: Resource): SendSettings {
    const now = this.#clock.now();
    const hit = this.#settings.get(r);
    if (hit && now < hit.until) return hit.settings;
    const settings = settingsOf(r, now);
    this.#settings.set(r, { settings, until: nextExpiry(r, now) });
    return settings;
  }

  /**
   * The settings of a target the cache says is disabled, read again if the cache was read before
   * `since` (when a retried delivery was made due, by the Clock): a retry asked for just after the
   * target was re-enabled, in another process or thread, must not be given up on the old state.
   * The dispatcher asks this only for deliveries attempted before (retries, manual retries,
   * recoveries): a disabled target's new deliveries are given up on the cache's word, and a batch
   * of retries made due together costs one reload (the next load began after them).
   */
  async sendSettingsSince(accountId: string, targetId: string, since: number): Promise<SendSettings | undefined> {
    const asOf = this.#cache.get(accountId)?.read_as_of;
    if (asOf !== undefined && asOf < since) this.invalidate(accountId);
    return this.sendSettings(accountId, targetId);
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
      return this.#settingsOf(r);
    }
    return DEFAULT_SEND;
  }
}

/** when the first of a target's live secrets expires (its settings change then) */
function nextExpiry(r: Resource, now: number): number {
  let until = Infinity;
  for (const s of (r.doc as Partial<EndpointDoc>).secrets ?? []) if (s.expires_at !== null && s.expires_at > now && s.expires_at < until) until = s.expires_at;
  return until;
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
    url: r.kind === RESOURCE_KINDS.endpoint && typeof doc.url === 'string' ? doc.url : null,
  };
}
