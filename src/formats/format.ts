import type { Call, CallEvent, CallKind, Outcome } from '../calls/model.ts';
import type { OutgoingRequest, Resource, SendRequest } from '../store/contract.ts';
import type { FormatName, SendSettings } from '../targets/model.ts';

/** One delivery as a format renders it: the format's own event name and the bytes to send. */
export interface Rendered {
  event_name: string;
  request: OutgoingRequest;
}

/** What a format sees of an account's targets when it plans: its own index and every resource by id. */
export interface PlanTargets<Index> {
  index: Index;
  byId: ReadonlyMap<string, Resource>;
  /**
   * Kept for one planned write: every event of it sees the same call, so a format may render
   * its view of the call once here (by its own key) and reuse it for the write's other events.
   */
  memo: Map<string, unknown>;
}

/** Called once per delivery a format plans: the target's id (a resource id, or `url:…`) and the request. */
export type Add = (targetId: string, r: Rendered) => void;

/** How a sample call reaches one target (the test route): the call's kind, and what it must name or carry. */
export interface SampleSetup {
  kind: CallKind;
  /** how the sample call ends (default completed) */
  outcome?: Outcome;
  /** sets on the sample call what the target matches on (its callback, webhook_id, tracking…) */
  prepare?(call: Call): void;
  /** resources the planning must find besides the target (seed 003: the call's property) */
  resources?: Resource[];
}

/**
 * One wire format (SPEC §5), everything about it behind one object: which canonical events it
 * takes and how a target matches, how a request is rendered, which statuses are success, how it
 * is signed, and how a sample call reaches a target. Fan-out, the dispatcher and the test route
 * loop over the registry (formats/registry.ts); a new format is one module and its route schema.
 */
export interface Format<Index = unknown> {
  readonly name: FormatName;
  /** the resource kind its targets are stored as */
  readonly kind: string;
  /** the format's own event names, in a call's order: what a test may ask for */
  readonly events: readonly string[];
  /** the event a test sends when none is asked for */
  readonly testEvent: string;
  /** its lookup over the account's targets of its kind, built once per cache load */
  index(targets: readonly Resource[]): Index;
  /** the deliveries one committed event makes: each matching target, rendered */
  plan(call: Call, event: CallEvent, targets: PlanTargets<Index>, add: Add): void;
  /** which response statuses count as success */
  success(status: number): boolean;
  /** headers that sign a request in the format's own way (Standard Webhooks signing is every format's, in signing.ts) */
  sign?(request: SendRequest, settings: SendSettings, deliveryId: string, timestampSec: number): Record<string, string>;
  /** how a sample call reaches `target`, to show `event` (one of `events`; the test route's choice) */
  sample(target: Resource, event: string): SampleSetup;
  /** the test mark a format's body carries (seed 004: `is_test: true`) on a rendered sample */
  asTest?(request: OutgoingRequest): OutgoingRequest;
}

export const JSON_HEADERS = { 'content-type': 'application/json' } as const;

const JSON_ONLY: Readonly<Record<string, string>> = Object.freeze({ ...JSON_HEADERS });
const withJson = new WeakMap<object, Readonly<Record<string, string>>>();

/**
 * A target's own headers with the JSON content type, as a rendered request carries them: one
 * frozen object per target document (a reload of the targets makes new ones), shared by all its
 * deliveries, so that the store writes its JSON once (store/sqlite/request-text.ts) instead of
 * once per delivery. Frozen: nothing may change a rendered request's headers.
 */
export function targetHeaders(own: Readonly<Record<string, string>> | null | undefined): Readonly<Record<string, string>> {
  if (!own) return JSON_ONLY;
  let h = withJson.get(own);
  if (!h) withJson.set(own, (h = Object.freeze({ ...own, ...JSON_HEADERS })));
  return h;
}

/** SPEC §6: success is any 2xx unless the format says otherwise. */
export const ANY_2XX = (s: number): boolean => s >= 200 && s < 300;
