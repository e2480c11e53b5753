/**
 * The storage contract, in Hookline's terms. Two implementations: `sqlite/` (embedded default)
 * and `postgres/`. No driver type crosses this boundary; every time is ms since the epoch and is
 * passed in by the caller ("now" comes from the injected clock, never from the database).
 */
import type { Call, CallEvent } from '../calls/model.ts';

export interface Account {
  id: string;
  name: string;
  created_at: number;
}

export interface ApiKeyInfo {
  account_id: string;
  bootstrap: boolean;
}

export interface CallFilter {
  kind?: string;
  direction?: string;
  status?: string;
  outcome?: string;
  from?: string;
  to?: string;
  channel_id?: string;
  external_id?: string;
}

/** A stored answer to a request that carried an Idempotency-Key. */
export interface IdempotentAnswer {
  request_hash: string;
  status: number;
  body: string;
}

/** An HTTP request as it will be sent; rendered once at enqueue time so retries send the same bytes. */
export interface OutgoingRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
}

/**
 * A request as the delivery loop sends it: its body the text, or the UTF-8 bytes it was handed
 * over in (SQLite split mode: packed-offers.ts), sent and signed as they are.
 */
export interface SendRequest extends Omit<OutgoingRequest, 'body'> {
  body: string | Uint8Array | null;
}

export interface NewDelivery {
  id: string;
  account_id: string;
  call_id: string;
  event_seq: number;
  event_type: string;
  /** the format's own event name */
  event_name: string;
  target_format: string;
  target_id: string;
  /** deliveries with the same order_key and call_id go out in event_seq order */
  order_key: string;
  request: OutgoingRequest;
  created_at: number;
  next_attempt_at: number;
}

/** What the API shows. */
export const DELIVERY_STATUSES = ['pending', 'delivering', 'succeeded', 'dead'] as const;

/** The `call_id` of test deliveries in the log (`GET /v1/deliveries?call_id=test` lists them): sent once, never counted as dead work. */
export const TEST_CALL_ID = 'test';
/**
 * What the store keeps: also `queued`, a delivery waiting behind an earlier event of the same
 * call for the same target (the API shows it as `pending`).
 */
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number] | 'queued';

/** A claimed delivery: as stored, its body possibly still in bytes (SendRequest). */
export interface Claimed extends Omit<Delivery, 'request'> {
  request: SendRequest;
}

export interface Delivery extends NewDelivery {
  status: DeliveryStatus;
  attempts: number;
  locked_by: string | null;
  locked_until: number | null;
  updated_at: number;
  last_status_code: number | null;
  last_error: string | null;
}

export interface Attempt {
  delivery_id: string;
  attempt: number;
  started_at: number;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  /** the request as sent, secrets redacted */
  request: { method: string; url: string; headers: Record<string, string> };
  response_headers: Record<string, string> | null;
  response_excerpt: string | null;
}

/**
 * An attempt as the dispatcher reports it: its request already the JSON the log keeps (the
 * dispatcher renders a target's shared headers once: delivery/headers.ts loggedRequest).
 */
export interface AttemptRecord extends Omit<Attempt, 'request'> {
  /**
   * Attempt['request'] as JSON is request_head + request_tail: the head is the part all attempts
   * of a target share (one string for all of them), the tail the attempt's own headers.
   */
  request_head: string;
  request_tail: string;
}

/** What the dispatcher reports for one attempt; written in a batch. */
export interface AttemptResult {
  owner: string;
  /** the delivery's line: when it settles, the next queued event of the call for this target is due */
  call_id: string;
  /** the target's wire format, for the metrics */
  format: string;
  order_key: string;
  attempt: AttemptRecord;
  status: 'succeeded' | 'pending' | 'dead';
  next_attempt_at: number;
  /** target bookkeeping in the same write */
  target: { id: string; account_id: string; success: boolean; disable_reason?: string };
}

export interface DeliveryFilter {
  call_id?: string;
  target_id?: string;
  status?: string;
}

/** An account-scoped configuration document: endpoints, profiles, webhooks, subscriptions… */
export interface Resource {
  id: string;
  account_id: string;
  kind: string;
  doc: Record<string, unknown>;
  enabled: boolean;
  disabled_reason: string | null;
  created_at: number;
  updated_at: number;
  last_success_at: number | null;
  failing_since: number | null;
}

/** A write of a call's new state, its new events and what they cause, as one transaction. */
export interface CallWrite {
  call: Call;
  /** the version read before the change; null when the call is new */
  expected_version: number | null;
  events: CallEvent[];
  /** when the engine must next look at the call; null clears its timer */
  timer_due_at: number | null;
  /**
   * the timer written already leased (claimed) by this owner until then: the engine that wrote
   * the step plays the next one itself, without a claim (engine.ts); absent, the timer is unleased
   */
  timer_lease?: { owner: string; until: number };
  deliveries: NewDelivery[];
  idempotency?: { route: string; key: string; request_hash: string; status: number; body: string };
  /** the switch's ids of the ingested events this write holds (a batch may hold several of one call) */
  ingest_event_ids?: string[];
  /**
   * for each of `ingest_event_ids` (same order), the seq of the event of this write it made,
   * where it made one: a store may keep the id on that event rather than apart (SQLite does)
   */
  ingest_seqs?: number[];
}

/** Whether the write leaves its call a timer any engine may claim: set, and not leased by the write to its own engine. */
export function claimableTimer(w: CallWrite): w is CallWrite & { timer_due_at: number } {
  return w.timer_due_at !== null && !w.timer_lease;
}

/**
 * What a call write came to. Refused writes change nothing: `stale` — the call changed since it
 * was read (or does not exist); `key_taken` — its idempotency key or an ingested event id is
 * already stored; `call_exists` — a call with its id, or another call of the account with the switch's call id, is stored.
 */
export type WriteOutcome = 'written' | 'stale' | 'key_taken' | 'call_exists';

/**
 * How many more deliveries each target (order key) may take in this claim: a target with no
 * entry takes up to `fallback` (its limit is not known yet); 0 skips it.
 */
export interface Slots {
  free: ReadonlyMap<string, number>;
  fallback: number;
}

export interface TimerClaim {
  call_id: string;
  due_at: number;
  /** the call as the claim read it, where a store reads it in the same round trip (PostgreSQL) */
  call?: Call;
}

/** What retention deletes in one round (issue 9): rows older than the cut-offs, at most `batch` of each kind. */
export interface RetentionCutoffs {
  /** succeeded deliveries (with their attempts), ended calls with no delivery left, idempotency and ingestion keys */
  before: number;
  /** dead deliveries, kept longer so they can be retried from the log */
  deadBefore: number;
  batch: number;
}

/** For /metrics: how big the storage is and how deep the queue. */
export interface StoreStats {
  database_bytes: number | null;
  wal_bytes: number | null;
  /** deliveries by stored status, for the statuses that are work or kept for retry: queued, pending, delivering, dead */
  deliveries: Record<string, number>;
  /** next_attempt_at of the oldest delivery that is due and not yet claimed */
  oldest_due_at: number | null;
}

export interface Store {
  readonly backend: 'sqlite' | 'postgres';
  migrate(): Promise<void>;
  close(): Promise<void>;
  ping(): Promise<void>;
  /** Whether `err` (thrown by this store) says the database cannot be reached now: the API answers 503, to be tried again, not 500. */
  unreachable?(err: unknown): boolean;
  /**
   * Called once at start. SQLite serves one process per data directory, so every lease left by
   * an earlier run is void and handed back at once; PostgreSQL leaves leases to expire, since
   * other live processes may hold them.
   */
  recoverLeases(now: number): Promise<void>;
  /** Where the backend can tell other processes about new work (PostgreSQL LISTEN/NOTIFY): a hint, never the guarantee. */
  listen?(onWork: () => void): Promise<void>;

  // accounts and keys
  getBootstrapAccount(): Promise<string | undefined>;
  /**
   * Makes this key the only bootstrap key (of `accountId`, made as the default account if it is
   * new). With `onlyIfNone`, only when there is no bootstrap key yet, decided atomically across
   * processes (two API processes starting together on a fresh database: one makes it, the
   * other finds it); answers whether the key was stored.
   */
  setBootstrapKey(accountId: string, keyHash: string, now: number, onlyIfNone?: boolean): Promise<boolean>;
  createAccount(account: Account, keyHash: string): Promise<void>;
  findApiKey(keyHash: string): Promise<ApiKeyInfo | undefined>;

  // calls
  writeCall(w: CallWrite): Promise<WriteOutcome>;
  getCall(accountId: string | null, id: string): Promise<Call | undefined>;
  getCallByExternalId(accountId: string, externalId: string): Promise<Call | undefined>;
  /** the account's next call `number` (1, 2, 3 …), taken before the new call's write (issue 11) */
  nextCallNumber(accountId: string): Promise<number>;
  listCalls(accountId: string, filter: CallFilter, limit: number, after: string | null): Promise<Call[]>;
  /**
   * The calls not ended whose driver (`driver_state.driver`) is `driver`, of every account: what
   * a driver takes over at start (the SIP driver ends the previous run's calls). A scan of the
   * calls table, run once at start.
   */
  liveCalls(driver: string): Promise<Call[]>;
  listEvents(callIds: string[]): Promise<CallEvent[]>;
  getIdempotent(accountId: string, route: string, key: string): Promise<IdempotentAnswer | undefined>;
  getIngested(accountId: string, eventId: string): Promise<string | undefined>;

  // durable engine timers
  claimTimers(owner: string, now: number, leaseUntil: number, limit: number): Promise<TimerClaim[]>;
  nextTimerDue(): Promise<number | null>;
  releaseTimers(owner: string): Promise<void>;

  // deliveries
  /**
   * Leases up to `limit` due deliveries to `owner`, round-robin over the targets with due work
   * and at most their free slots each, so a full or failing target's backlog is never walked.
   * `settle` records finished attempts: PostgreSQL before the claim in the same round trip;
   * SQLite, whose claims write nothing, in its next group commit without holding the claim up
   * (a result whose commit failed is recorded with the next claim). Either way a delivery's
   * next event becomes claimable once its result is recorded.
   *
   * `followers` (default 0): a backend may lease, with each head, up to that many of its line's
   * later deliveries (a chain, all in the answer). They may be sent only one after another, each
   * once every one before it in the line settled for good; whatever is not sent goes back with
   * releaseDeliveries, which (like an expired lease) makes a line's first unsettled delivery due
   * and leaves the ones behind it waiting. Both backends chain: PostgreSQL saves a round trip
   * per event of a call, SQLite a dispatcher round (a claim gap and a thread's turn) per event.
   */
  claimDeliveries(owner: string, now: number, leaseUntil: number, limit: number, slots: Slots, settle?: AttemptResult[], followers?: number): Promise<Claimed[]>;
  recordAttempts(results: AttemptResult[], now: number): Promise<void>;
  /**
   * The earliest time after `now` at which a pending delivery falls due or a lease runs out. Rows
   * already due but not claimed wait on an earlier event or a full target, whose attempt nudges.
   */
  nextDeliveryDue(now: number): Promise<number | null>;
  /** hands `owner`'s leased deliveries back to the queue: all of them, or only `ids` */
  releaseDeliveries(owner: string, now: number, ids?: string[]): Promise<void>;
  getDelivery(accountId: string, id: string): Promise<Delivery | undefined>;
  listDeliveries(accountId: string, filter: DeliveryFilter, limit: number, after: string | null): Promise<Delivery[]>;
  listAttempts(deliveryIds: string[]): Promise<Attempt[]>;
  /**
   * Logs a test delivery (issue 11: a target's test button, or an unsaved configuration's) that
   * was sent already: its row, settled (`succeeded` or `dead`), with its one attempt. Never queued.
   */
  recordTestDelivery(d: NewDelivery, status: 'succeeded' | 'dead', attempt: Attempt, now: number): Promise<void>;
  /** puts a succeeded or dead delivery back in the queue; false if it is being attempted now */
  retryDelivery(accountId: string, id: string, now: number): Promise<boolean>;
  /**
   * The ids of an account's dead deliveries (tests left out) to a target and/or of a call, at most
   * `limit`, by call (ids grow with time) and each call's in event order: what a recovery retries,
   * found through the settled deliveries' index, never by reading the whole log.
   */
  deadDeliveries(accountId: string, filter: Pick<DeliveryFilter, 'target_id' | 'call_id'>, limit: number): Promise<string[]>;

  // housekeeping
  /** deletes one batch of what retention lets go; answers how many rows went */
  purge(cutoffs: RetentionCutoffs): Promise<number>;
  stats(now: number): Promise<StoreStats>;

  // configuration resources
  putResource(r: Resource): Promise<void>;
  getResource(accountId: string, kind: string, id: string): Promise<Resource | undefined>;
  listResources(accountId: string, kind: string): Promise<Resource[]>;
  /** one page of a kind's resources, newest id first, those with ids below `before` (a list's cursor) */
  pageResources(accountId: string, kind: string, limit: number, before: string | null): Promise<Resource[]>;
  deleteResource(accountId: string, kind: string, id: string): Promise<boolean>;
}
