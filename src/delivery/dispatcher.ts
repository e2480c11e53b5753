import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import { formatOf } from '../formats/registry.ts';
import type { AttemptResult, Claimed, Slots, Store } from '../store/contract.ts';
import { DEFAULT_CONCURRENCY, type SendSettings } from '../targets/model.ts';
import type { TargetRegistry } from '../targets/registry.ts';
import { Loop } from '../loop.ts';
import { Throttle } from './throttle.ts';
import type { DeliveryMetrics } from './metrics.ts';
import { redactHeaders, redactUrl } from './redact.ts';
import { nextAttemptAt, parseRetryAfter } from './retry-policy.ts';
import type { Sender } from './sender.ts';
import { attemptHeaders, loggedHead, loggedTail } from './headers.ts';

export interface DispatcherDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  registry: TargetRegistry;
  sender: Sender;
  metrics: DeliveryMetrics;
  owner: string;
  leaseMs: number;
  retryScheduleMs: readonly number[];
  failureWindowMs: number;
}

// At most 256 requests in flight per process: on 2 cores the event loop, not the sockets, is the
// limit long before that; per-target limits (default 16) keep one target from taking them all.
const MAX_IN_FLIGHT = 256;
// One account holds at most this many of them, so another account's deliveries always find 64
// free: 300 hanging endpoints of one tenant held all 256 for their 20 s timeouts, and every other
// tenant's events waited that long (a security review's test). One tenant's ceiling stays well
// above what a target takes (16 by default, 128 at most).
const ACCOUNT_MAX_IN_FLIGHT = 192;
// Targets whose account is remembered (to close them to a claim while the account is full);
// past this many, those of accounts with nothing in flight are forgotten.
const MAX_REMEMBERED_TARGETS = 10_000;
// An account this close to its cap has its targets' slots cut to what it has left, so that a
// claim does not take 16 rows of each to launch one and hand the rest back.
const ACCOUNT_ROOM_CHECKED = 64;
const BATCH = 128;
// After a claim that came back short, the next waits this long: finished attempts then come back
// in groups, one claim per group rather than one per attempt (bench: 1 ms took deliveries/s from
// ~600 to ~1,500, at the cost of at most 1 ms per event).
const CLAIM_GAP_MS = 1;
// With each head a claim may lease up to 15 of its line's later deliveries (a chain: store
// contract, claimDeliveries): a call's events then follow each other without a round between.
const FOLLOWERS = 15;
// A chain goes on only while at least this share of the lease is left: an attempt's timeout is
// at most 0.8 of the lease (#attempt), so no follower is still being sent when the lease ends.
const CHAIN_LEASE_LEFT = 0.8;
// Nothing due: look again within 1 s anyway (another process may have enqueued; a nudge is only a hint).
const IDLE_MS = 1000;
const GONE = 'the target answered 410 Gone';
// On shutdown, requests under way get this long to finish before they are cut and handed back.
const DRAIN_MS = 5000;

/** A claim's deliveries as chains: one per call's line for a target, in event order (a head alone when the store does not chain). */
export function chainsOf<D extends Claimed>(claimed: D[]): D[][] {
  // by target, then call: no key string made per delivery (the strings' hashes are kept in them)
  const lines = new Map<string, Map<string, D[]>>();
  const chains: D[][] = [];
  for (const d of claimed) {
    let calls = lines.get(d.order_key);
    if (calls === undefined) lines.set(d.order_key, (calls = new Map()));
    const line = calls.get(d.call_id);
    if (line) line.push(d);
    else {
      const c = [d];
      calls.set(d.call_id, c);
      chains.push(c);
    }
  }
  for (const c of chains) if (c.length > 1) c.sort((a, b) => a.event_seq - b.event_seq);
  return chains;
}

/**
 * The delivery loop: claims due deliveries in batches under a lease, sends each without waiting
 * for the others, and records finished attempts in batched writes. A slow target holds only its
 * own slots (per-target concurrency); the claim skips targets that are full, so others flow.
 */
export class Dispatcher {
  readonly #d: DispatcherDeps;
  readonly #loop: Loop;
  readonly #inFlight = new Map<string, number>();
  /** chains in flight by account (ACCOUNT_MAX_IN_FLIGHT), and each account's targets, as seen */
  readonly #accountInFlight = new Map<string, number>();
  readonly #targetsOf = new Map<string, Set<string>>();
  #remembered = 0;
  /** each target's slots, adapting to how it answers (throttle.ts) */
  readonly #throttle: Throttle;
  readonly #pending = new Set<Promise<void>>();
  /** targets that answered 410 here, until the disable is recorded: their reason */
  readonly #gone = new Map<string, string>();
  /** set when stop() cuts what is still under way: those attempts are handed back, not failed */
  #cut = false;
  /** set when stop() begins: chains start no further sends (their rest is handed back) */
  #stopping = false;
  #results: AttemptResult[] = [];
  /** followers of chains that stopped (their head will be retried): handed back by the next round */
  #handBack: string[] = [];
  #total = 0;
  #lastShortClaim = 0;

  constructor(deps: DispatcherDeps) {
    this.#d = deps;
    this.#loop = new Loop('dispatcher', deps.log, () => this.#round());
    this.#throttle = new Throttle(deps.retryScheduleMs[0] ?? 5000);
  }

  start(): void {
    this.#loop.start();
  }

  nudge(): void {
    this.#loop.nudge();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop.stop();
    const drained = Promise.allSettled([...this.#pending]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, DRAIN_MS)))]);
    clearTimeout(timer);
    this.#cut = true;
    this.#d.sender.abortAll();
    await Promise.allSettled([...this.#pending]);
    await this.#flush();
    await this.#d.store.releaseDeliveries(this.#d.owner, this.#d.clock.now());
  }

  /**
   * One round: record the attempts that finished since the last one and claim what there is
   * room for, in one transaction, then launch the claimed deliveries. Answers how long to sleep.
   */
  async #round(): Promise<number> {
    const { store, clock } = this.#d;
    const free = MAX_IN_FLIGHT - this.#total;
    if (free <= 0 && this.#results.length === 0 && this.#handBack.length === 0) return IDLE_MS; // a finished attempt nudges
    const gap = this.#lastShortClaim + CLAIM_GAP_MS - performance.now();
    if (gap > 0) await new Promise((r) => setTimeout(r, gap));
    const settle = this.#results;
    this.#results = [];
    const now = clock.now();
    const leaseUntil = now + this.#d.leaseMs;
    const want = Math.max(0, Math.min(BATCH, free));
    let claimed: Claimed[];
    try {
      claimed = await store.claimDeliveries(this.#d.owner, now, leaseUntil, want, this.#slots(), settle, FOLLOWERS);
    } catch (err) {
      this.#results.unshift(...settle); // recorded by the next round
      throw err;
    }
    this.#settled(settle);
    // A batch may hold more of one target than it has free slots: the rest go back to the
    // queue (the next claims skip the target while it is full). A chain takes one slot.
    const excess = this.#handBack;
    this.#handBack = [];
    const chains = chainsOf(claimed);
    for (const chain of chains) {
      const d = chain[0]!;
      // Awaited only the first time a target is seen: an await per chain was a turn of the microtask queue each.
      const limit = this.#throttle.limit(d.order_key) ?? await this.#learnLimit(d);
      this.#remember(d.account_id, d.order_key);
      if ((this.#inFlight.get(d.order_key) ?? 0) < this.#throttle.allowed(d.order_key, limit)
        && (this.#accountInFlight.get(d.account_id) ?? 0) < ACCOUNT_MAX_IN_FLIGHT) this.#launch(chain, leaseUntil);
      else for (const x of chain) excess.push(x.id);
    }
    if (excess.length > 0) {
      try {
        await store.releaseDeliveries(this.#d.owner, clock.now(), excess);
      } catch (err) {
        this.#handBack.push(...excess); // handed back by the next round (or by their lease's end)
        throw err;
      }
    }
    if (chains.length < want) this.#lastShortClaim = performance.now();
    this.#throttle.forgetIdle(this.#inFlight);
    if (this.#remembered > MAX_REMEMBERED_TARGETS) this.#forgetIdleAccounts();
    if (claimed.length > 0 || this.#results.length > 0 || this.#handBack.length > 0) return 0;
    // Due rows that were not claimed wait on an earlier event or a full target: a finished
    // attempt nudges us. Otherwise sleep until the next retry or lease falls due.
    // A paused target (throttle.ts) is tried again when its pause ends.
    const next = await store.nextDeliveryDue(now);
    const wait = next === null ? IDLE_MS : Math.min(IDLE_MS, Math.max(0, next - clock.now()));
    return Math.min(wait, this.#throttle.nextResume() ?? IDLE_MS);
  }

  /** The target's concurrency limit, learnt from its settings the first time it is seen. */
  async #learnLimit(d: Claimed): Promise<number> {
    const n = (await this.#d.registry.sendSettings(d.account_id, d.target_id))?.concurrency ?? DEFAULT_CONCURRENCY;
    this.#throttle.learn(d.order_key, n);
    return n;
  }

  /**
   * Sends a chain (a head and the followers leased with it, in event order) one after another
   * in one slot: a follower goes out once the one before it settled for good (succeeded or
   * dead). When one does not (a retry later, shutdown, a crash) the rest are handed back.
   */
  #launch(chain: Claimed[], leaseUntil: number): void {
    const key = chain[0]!.order_key;
    const account = chain[0]!.account_id;
    this.#total += 1;
    this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
    this.#accountInFlight.set(account, (this.#accountInFlight.get(account) ?? 0) + 1);
    const p: Promise<void> = this.#send(chain, leaseUntil)
      .finally(() => {
        this.#total -= 1;
        const n = (this.#inFlight.get(key) ?? 1) - 1;
        if (n <= 0) this.#inFlight.delete(key);
        else this.#inFlight.set(key, n);
        const a = (this.#accountInFlight.get(account) ?? 1) - 1;
        if (a <= 0) this.#accountInFlight.delete(account);
        else this.#accountInFlight.set(account, a);
        this.#pending.delete(p);
      });
    this.#pending.add(p);
  }

  /**
   * What each target may take in this claim: the throttle's answer, and nothing for the targets
   * of an account that holds ACCOUNT_MAX_IN_FLIGHT (one not seen yet is claimed once, handed
   * back, and known from then on).
   */
  #slots(): Slots {
    const slots = this.#throttle.slots(this.#inFlight);
    let free: Map<string, number> | undefined;
    for (const [account, n] of this.#accountInFlight) {
      const room = ACCOUNT_MAX_IN_FLIGHT - n;
      const keys = room < ACCOUNT_ROOM_CHECKED ? this.#targetsOf.get(account) : undefined;
      if (keys === undefined) continue;
      free ??= new Map(slots.free);
      for (const key of keys) free.set(key, Math.max(0, Math.min(free.get(key) ?? slots.fallback, room)));
    }
    return free === undefined ? slots : { free, fallback: slots.fallback };
  }

  /** A target's account (a target id belongs to one account for good). */
  #remember(account: string, key: string): void {
    let keys = this.#targetsOf.get(account);
    if (!keys) this.#targetsOf.set(account, (keys = new Set()));
    if (keys.has(key)) return;
    keys.add(key);
    this.#remembered += 1;
  }

  /** Bounds what is remembered, but never the targets of an account with requests in flight (a full one's are closed by it). */
  #forgetIdleAccounts(): void {
    for (const [account, keys] of this.#targetsOf) {
      if (this.#accountInFlight.has(account)) continue;
      this.#remembered -= keys.size;
      this.#targetsOf.delete(account);
    }
  }

  async #send(chain: Claimed[], leaseUntil: number): Promise<void> {
    for (let i = 0; i < chain.length; i++) {
      const d = chain[i]!;
      let r: AttemptResult | null = null;
      try {
        r = await this.#attempt(d);
      } catch (err) {
        // The lease runs out and the delivery is claimed again: late, never lost.
        this.#d.log.error({ err, delivery_id: d.id }, 'delivery attempt crashed');
      }
      const next = chain[i + 1];
      const goOn = next !== undefined && r !== null && r.status !== 'pending' && !this.#stopping
        && leaseUntil - this.#d.clock.now() >= this.#d.leaseMs * CHAIN_LEASE_LEFT;
      if (r) {
        this.#results.push(r);
        // While the chain goes on, nothing waits on this result's record (the line's later
        // deliveries are leased to this chain already): it rides with the next round rather
        // than making one. Its last result, or a stop, nudges.
        if (!goOn) this.#loop.nudge();
      }
      if (next === undefined) return;
      if (!goOn) {
        for (const x of chain.slice(i + 1)) this.#handBack.push(x.id);
        this.#loop.nudge();
        return;
      }
    }
  }

  /** On shutdown: what finished after the last round. */
  async #flush(): Promise<void> {
    const batch = this.#results;
    this.#results = [];
    if (batch.length === 0) return;
    await this.#d.store.recordAttempts(batch, this.#d.clock.now());
    this.#settled(batch);
  }

  #settled(batch: AttemptResult[]): void {
    let disabled: Set<string> | undefined;
    for (const r of batch) {
      this.#d.metrics.attempt(r);
      if (r.target.disable_reason === undefined) continue;
      this.#gone.delete(r.target.id); // recorded: the registry's reload says it
      // Several attempts in flight may each get the 410: the target is disabled once, said once.
      if (disabled?.has(r.target.id)) continue;
      (disabled ??= new Set()).add(r.target.id);
      this.#d.log.warn({ target_id: r.target.id, reason: r.target.disable_reason }, 'target disabled');
      this.#d.registry.invalidate(r.target.account_id);
    }
  }

  async #attempt(d: Claimed): Promise<AttemptResult | null> {
    const { clock, sender } = this.#d;
    const attempt = d.attempts + 1;
    const started = clock.now();
    // From memory without an await when the settings are there (TargetRegistry.sendSettingsNow).
    const known = this.#d.registry.sendSettingsNow(d.account_id, d.target_id);
    let settings = known === null ? await this.#d.registry.sendSettings(d.account_id, d.target_id) : known;
    // A retry made due after the cache was read (a re-enable, then retry or recover) reads it again first.
    if (settings?.enabled === false && d.attempts > 0) settings = await this.#d.registry.sendSettingsSince(d.account_id, d.target_id, d.next_attempt_at);
    const { method, body } = d.request;
    const url = settings?.url ?? d.request.url;
    const gone = this.#gone.size > 0 && settings?.resource_id ? this.#gone.get(settings.resource_id) : undefined;
    if (!settings || !settings.enabled || gone !== undefined) {
      // Given up without a request: not a success of the target (it must not refresh last_success_at).
      const error = settings ? `target disabled: ${gone ?? settings.disabled_reason ?? 'by the user'}` : 'target deleted';
      const request_tail = JSON.stringify({ method, url: redactUrl(url), headers: redactHeaders(d.request.headers) });
      return this.#result(d, { delivery_id: d.id, attempt, started_at: started, duration_ms: 0, status_code: null, error, request_head: '', request_tail, response_headers: null, response_excerpt: null }, 'dead', started, false);
    }
    this.#throttle.learn(d.order_key, settings.concurrency);
    const headers = attemptHeaders(d, settings, attempt, Math.floor(started / 1000));
    // An attempt must end well inside its lease, or another process could take the delivery
    // over while this one is still sending it.
    const timeout = Math.min(settings.timeout_ms, Math.floor(this.#d.leaseMs * 0.8));
    const r = await sender.send({ method, url, shared: headers.shared, headers: headers.own, body }, timeout, Math.min(settings.connect_timeout_ms, timeout));
    if (this.#cut && r.status_code === null) return null; // shutting down: handed back, not failed
    const now = clock.now();
    const record: AttemptResult['attempt'] = {
      delivery_id: d.id,
      attempt,
      started_at: started,
      duration_ms: r.duration_ms,
      status_code: r.status_code,
      error: r.error,
      request_head: loggedHead(method, url, headers.shared),
      request_tail: loggedTail(headers),
      response_headers: r.headers,
      response_excerpt: r.excerpt,
    };
    const success = r.status_code !== null && formatOf(d.target_format).success(r.status_code);
    // A refusal by the address guard is our own doing, not the target's health.
    if (!r.refused) this.#throttle.after(d.order_key, settings.concurrency, success ? 'ok' : r.status_code === null ? 'unreachable' : 'failed');
    if (success) return this.#result(d, record, 'succeeded', now, true, settings);
    if (r.status_code === 410) {
      // Disabled from now on: the rest of this chain and the other chains in flight to it are
      // given up without a request, before the disable is recorded (#settled).
      if (settings.resource_id !== null) this.#gone.set(settings.resource_id, GONE);
      return this.#result(d, { ...record, error: record.error ?? GONE }, 'dead', now, false, settings, GONE);
    }
    if (r.refused) return this.#result(d, record, 'dead', now, false, settings);
    if (r.status_code !== null && !record.error) record.error = `HTTP ${r.status_code} is not a success for the ${d.target_format} format`;
    const retryAfter = r.status_code === 429 || r.status_code === 503 ? parseRetryAfter(r.headers?.['retry-after'], now) : null;
    const next = nextAttemptAt(attempt, this.#d.retryScheduleMs, now, retryAfter);
    let disable: string | undefined;
    if (settings.failing_since !== null && now - settings.failing_since >= this.#d.failureWindowMs) {
      disable = `no successful delivery since ${new Date(settings.failing_since).toISOString()}`;
    }
    return this.#result(d, record, next === null ? 'dead' : 'pending', next ?? now, false, settings, disable);
  }

  #result(
    d: Claimed, attempt: AttemptResult['attempt'], status: AttemptResult['status'], next: number,
    success: boolean, settings?: SendSettings, disable?: string,
  ): AttemptResult {
    const target: AttemptResult['target'] = { id: settings?.resource_id ?? d.target_id, account_id: d.account_id, success };
    if (disable !== undefined) target.disable_reason = disable;
    return { owner: this.#d.owner, call_id: d.call_id, format: d.target_format, order_key: d.order_key, attempt, status, next_attempt_at: next, target };
  }
}
