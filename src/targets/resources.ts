import type { Clock } from '../clock.ts';
import { REDACTED, restoreRedacted } from '../delivery/redact.ts';
import { HooklineError } from '../errors.ts';
import type { Resource, Store } from '../store/contract.ts';
import type { TargetRegistry } from './registry.ts';

/** How one kind of stored configuration is checked, named and shown. */
export interface ResourceSpec<Doc, In> {
  kind: string;
  /** for messages: "callback profile" */
  noun: string;
  newId(now: number): string;
  /** what every id newId makes looks like: a list's cursor must (src/api/paging.ts) */
  idShape: RegExp;
  /** validates input (merged over the stored doc on update) into the stored document */
  build(input: In, accountId: string): Promise<Doc> | Doc;
  /**
   * the stored doc as input, so an update can merge a patch over it; for a PUT (`replacing`),
   * only what a replacement keeps unless given (secrets and the like)
   */
  toInput(doc: Doc, replacing?: boolean): In;
  view(r: Resource, doc: Doc): Record<string, unknown>;
}

/** Why a target is off when its owner turned it off (Hookline's own reasons: a 410, the failure window). */
export const DISABLED_BY_USER = 'disabled by the user';

/** The one lifecycle field every kind takes beside its own: `enabled`, kept on the row, not in the document. */
type Lifecycle = { enabled?: boolean };

function withoutLifecycle<T>(input: T): T {
  const { enabled: _enabled, ...rest } = input as T & Lifecycle;
  return rest as T;
}

/** CRUD of one kind of resource, shared by every format's configuration. */
export class Resources<Doc, In> {
  readonly spec: ResourceSpec<Doc, In>;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #registry: TargetRegistry;

  constructor(spec: ResourceSpec<Doc, In>, deps: { store: Store; clock: Clock; registry: TargetRegistry }) {
    this.spec = spec;
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#registry = deps.registry;
  }

  async get(accountId: string, id: string): Promise<Resource> {
    const r = await this.#store.getResource(accountId, this.spec.kind, id);
    if (!r) throw new HooklineError('not_found', `no ${this.spec.noun} ${id}`);
    return r;
  }

  /** one page, newest first, paged in the store */
  page(accountId: string, limit: number, before: string | null): Promise<Resource[]> {
    return this.#store.pageResources(accountId, this.spec.kind, limit, before);
  }

  /** An unsaved configuration as the resource it would be (checked as a create checks it): what a test sends to. */
  async preview(accountId: string, input: In): Promise<Resource> {
    const doc = await this.spec.build(withoutLifecycle(input), accountId);
    const now = this.#clock.now();
    return {
      id: 'unsaved', account_id: accountId, kind: this.spec.kind, doc: doc as Record<string, unknown>,
      enabled: true, disabled_reason: null, created_at: now, updated_at: now, last_success_at: null, failing_since: null,
    };
  }

  view(r: Resource): Record<string, unknown> {
    return this.spec.view(r, r.doc as Doc);
  }

  async create(accountId: string, input: In, id?: string): Promise<Resource> {
    const doc = await this.spec.build(withoutLifecycle(input), accountId);
    const now = this.#clock.now();
    const enabled = (input as Lifecycle).enabled ?? true;
    const r: Resource = {
      id: id ?? this.spec.newId(now), account_id: accountId, kind: this.spec.kind, doc: doc as Record<string, unknown>,
      enabled, disabled_reason: enabled ? null : DISABLED_BY_USER, created_at: now, updated_at: now, last_success_at: null, failing_since: null,
    };
    await this.#save(r);
    return r;
  }

  /** PUT: the whole configuration at a known id (seed 004's one integration per account), made or replaced. */
  async put(accountId: string, id: string, input: In): Promise<Resource> {
    const prior = await this.#store.getResource(accountId, this.spec.kind, id);
    if (!prior) return this.create(accountId, input, id);
    return this.update(accountId, id, input as Partial<In>, true);
  }

  /**
   * PATCH (or, with `replace`, PUT): the given fields over the stored ones. `{"enabled": true}`
   * re-enables any kind, whoever turned it off; `{"enabled": false}` says the user did.
   */
  async update(accountId: string, id: string, patch: Partial<In>, replace = false): Promise<Resource> {
    const r = await this.get(accountId, id);
    // A view shows secrets as [redacted]; a client that sends that view back keeps the stored value.
    const given = Object.fromEntries(Object.entries(withoutLifecycle(patch)).filter(([, v]) => v !== REDACTED)) as Partial<In> & { headers?: Record<string, string> };
    const stored = r.doc as { headers?: Record<string, string> };
    if (given.headers) given.headers = restoreRedacted(given.headers, stored.headers);
    const base = replace ? this.spec.toInput(r.doc as Doc, true) : this.spec.toInput(r.doc as Doc);
    const doc = await this.spec.build({ ...base, ...given }, accountId);
    r.doc = doc as Record<string, unknown>;
    // Only an explicit `enabled` changes the state: a target Hookline disabled (410, failing) stays off.
    const enabled = (patch as Lifecycle).enabled;
    if (enabled === true && !r.enabled) {
      r.disabled_reason = null;
      // Re-enabling starts the failure window afresh.
      r.failing_since = null;
    }
    if (enabled === false && r.enabled) r.disabled_reason = DISABLED_BY_USER;
    if (enabled !== undefined) r.enabled = enabled;
    r.updated_at = this.#clock.now();
    await this.#save(r);
    return r;
  }

  async delete(accountId: string, id: string): Promise<void> {
    if (!(await this.#store.deleteResource(accountId, this.spec.kind, id))) throw new HooklineError('not_found', `no ${this.spec.noun} ${id}`);
    this.#registry.invalidate(accountId);
  }

  async #save(r: Resource): Promise<void> {
    await this.#store.putResource(r);
    this.#registry.invalidate(r.account_id);
  }
}
