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
  /** the stored doc as input, so an update can merge a patch over it */
  toInput(doc: Doc): In;
  view(r: Resource, doc: Doc): Record<string, unknown>;
  /** is the resource on (for kinds whose enabled flag lives in the document) */
  enabled?(doc: Doc): boolean;
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

  list(accountId: string): Promise<Resource[]> {
    return this.#store.listResources(accountId, this.spec.kind);
  }

  view(r: Resource): Record<string, unknown> {
    return this.spec.view(r, r.doc as Doc);
  }

  async create(accountId: string, input: In, id?: string): Promise<Resource> {
    const doc = await this.spec.build(input, accountId);
    const now = this.#clock.now();
    const r: Resource = {
      id: id ?? this.spec.newId(now), account_id: accountId, kind: this.spec.kind, doc: doc as Record<string, unknown>,
      enabled: this.spec.enabled?.(doc) ?? true, disabled_reason: null, created_at: now, updated_at: now, last_success_at: null, failing_since: null,
    };
    await this.#save(r);
    return r;
  }

  async update(accountId: string, id: string, patch: Partial<In>): Promise<Resource> {
    const r = await this.get(accountId, id);
    // A view shows secrets as [redacted]; a client that sends that view back keeps the stored value.
    const given = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== REDACTED)) as Partial<In> & { headers?: Record<string, string> };
    const stored = r.doc as { headers?: Record<string, string> };
    if (given.headers) given.headers = restoreRedacted(given.headers, stored.headers);
    const doc = await this.spec.build({ ...this.spec.toInput(r.doc as Doc), ...given }, accountId);
    r.doc = doc as Record<string, unknown>;
    // Only an explicit `enabled` changes the state: a target Hookline disabled (410, failing) stays off.
    const enabled = 'enabled' in patch && this.spec.enabled ? this.spec.enabled(doc) : r.enabled;
    if (enabled && !r.enabled) {
      r.disabled_reason = null;
      r.failing_since = null;
    }
    r.enabled = enabled;
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
