import type { Clock } from '../clock.ts';
import { HooklineError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { CallWrite, NewDelivery, Store } from '../store/contract.ts';
import type { Call, CallEvent, CallKind, Direction, NewEvent, Tracking } from './model.ts';
import { applyEvents } from './state.ts';
import type { Drivers } from './drivers/driver.ts';
import { recordOf } from './drivers/driver.ts';
import { ingestLine, type IngestDeps, type IngestInput, type IngestResult } from './ingest.ts';

/** A simulated leg as the request describes it (SPEC §4); the simulator driver applies the defaults. */
export interface ScenarioInput {
  ivr_ms?: number;
  ring_ms?: number;
  outcome?: 'answer' | 'busy' | 'no-answer' | 'failed';
  talk_ms?: number;
  transcript?: { type: string; message: string }[];
  recording_url?: string;
}

/** Turns committed events into delivery rows; the delivery engine plugs in here. */
export interface FanOut {
  plan(call: Call, events: CallEvent[], now: number): Promise<NewDelivery[]>;
}

export interface CreateCallInput {
  kind: CallKind;
  from: string;
  to: string;
  bridge?: string;
  flow_id?: string | number;
  channel_id?: string;
  /** default by kind: OBD, C2C, inbound */
  source?: string;
  webhook_id?: string;
  callback?: Record<string, object>;
  metadata?: Record<string, unknown>;
  tracking?: Tracking;
  /** SIP: CANCEL an unanswered call after this long (default 45) */
  ring_timeout_s?: number;
  /** SIP: Hookline hangs up an answered call after this long */
  max_duration_s?: number;
  /** one leg: a scenario; click-to-call: `{from, to}` */
  simulate?: ScenarioInput | { from?: ScenarioInput; to?: ScenarioInput };
}

export type { IngestInput, IngestResult } from './ingest.ts';

export interface Idempotency {
  route: string;
  key: string;
  request_hash: string;
}

export interface Answer {
  status: number;
  call: Call;
  /** the call's events so far, when the answer made the call (all of them) */
  events?: CallEvent[];
  /** a repeat of an earlier request, answered from storage */
  replayed?: { status: number; body: string };
}

/** The engine's ask to play a call's next step itself when it falls due soon (advance). */
export interface KeepNext {
  owner: string;
  /** how long the written timer stays leased to `owner` */
  leaseMs: number;
  /** a next step due later than this is left to the claims */
  withinMs: number;
}

/** A call whose next step the engine plays itself: the call as written, and when the step is due. */
export interface Kept {
  call: Call;
  due: number;
}

export interface CallServiceDeps {
  store: Store;
  clock: Clock;
  fanout: FanOut;
  /** told after each commit: there may be new timers or deliveries */
  onCommit: (w: CallWrite) => void;
  /** the ways a call happens; which one places a new call */
  drivers: Drivers;
  /** checks and normalises what a new call names of the account's configuration */
  prepare?: (accountId: string, input: CreateCallInput) => Promise<CreateCallInput>;
}

// A write loses a race only to another write of the same call (API hangup vs timer); 20 re-reads
// is far beyond what two writers can cause, and turns a livelock into a clear 500.
const MAX_RACES = 20;

const SOURCE: Record<CallKind, string> = { outbound: 'OBD', click_to_call: 'C2C', inbound: 'inbound' };

/**
 * A batch's calls are written 25 at a time (~125 events of a switch adapter's batch), each group
 * in the group commit of its turn, the next group after it. All 200 calls of a 1,000-event request
 * at once kept the whole request's rendered deliveries, call documents and statements alive until
 * one commit: ~18 MB, more than the young generation, so every scavenge of the API thread copied
 * and promoted most of it. Measured (`--trace-gc-nvp`, workload (b), 50,000 events): promoted on
 * the API thread 70–88 MB → 13 MB, its scavenges' work (pause and helper threads) ~730 → ~185 ms.
 */
const LINES_PER_WRITE = 25;

/** The call engine's front door: every change of a call goes through here, in one transaction. */
export class CallService {
  readonly #d: CallServiceDeps;
  #ingest: IngestDeps | undefined;
  constructor(deps: CallServiceDeps) {
    this.#d = deps;
  }

  async create(accountId: string, input: CreateCallInput, idem?: Idempotency, respond?: (call: Call, events: CallEvent[]) => string): Promise<Answer> {
    if (idem) {
      const prior = await this.#d.store.getIdempotent(accountId, idem.route, idem.key);
      if (prior) return this.#replay(accountId, idem, prior);
    }
    if (this.#d.prepare) input = await this.#d.prepare(accountId, input);
    const now = this.#d.clock.now();
    const call = newCall(accountId, input, now);
    call.number = await this.#d.store.nextCallNumber(accountId);
    const first: NewEvent[] = input.kind === 'inbound' ? [] : [{ type: 'call.accepted', leg: null, data: {} }];
    const events = applyEvents(call, first, now);
    call.status = 'accepted';
    call.version = 1;
    const driver = this.#d.drivers.forNew(input);
    call.driver_state = driver.place(call, input, now);
    const w: CallWrite = {
      call,
      expected_version: null,
      events,
      timer_due_at: driver.dueAt(call, now),
      deliveries: await this.#d.fanout.plan(call, events, now),
    };
    if (idem && respond) w.idempotency = { ...idem, status: 201, body: respond(call, events) };
    if ((await this.#d.store.writeCall(w)) !== 'written') {
      // Only the idempotency key can clash on a new call: a concurrent twin got there first.
      const prior = idem && (await this.#d.store.getIdempotent(accountId, idem.route, idem.key));
      if (!prior || !idem) throw new Error(`call ${call.id}: insert refused`);
      return this.#replay(accountId, idem, prior);
    }
    this.#committed(w);
    return { status: 201, call, events };
  }

  async #replay(accountId: string, idem: Idempotency, prior: { request_hash: string; status: number; body: string }): Promise<Answer> {
    if (prior.request_hash !== idem.request_hash) {
      throw new HooklineError('idempotency_conflict', `Idempotency-Key "${idem.key}" was first used with a different request`);
    }
    const id = (JSON.parse(prior.body) as { id: string }).id;
    const call = await this.#d.store.getCall(accountId, id);
    if (!call) throw new Error(`idempotent call ${id} is missing`);
    recordOf(call);
    return { status: prior.status, call, replayed: { status: prior.status, body: prior.body } };
  }

  async get(accountId: string, id: string): Promise<Call> {
    const call = await this.#d.store.getCall(accountId, id);
    if (!call) throw new HooklineError('not_found', `no call ${id}`);
    recordOf(call);
    return call;
  }

  /** End now: `completed` if answered, else `cancelled` (SPEC §4). */
  async hangup(accountId: string, id: string): Promise<Call> {
    return this.#change(accountId, id, (call, now) => {
      if (call.status === 'ended') throw new HooklineError('call_already_ended', `call ${id} ended already`);
      return this.#d.drivers.of(call).hangup(call, now);
    });
  }

  /** A driver's news of one of its calls (a SIP response): applied like every change, in one transaction. */
  async report(callId: string, decide: (call: Call, now: number) => NewEvent[]): Promise<Call> {
    return this.#change(null, callId, decide);
  }

  async addTranscript(accountId: string, id: string, line: { type: string; message: string }): Promise<Call> {
    return this.#change(accountId, id, () => [{ type: 'call.transcript', leg: null, data: { speaker: line.type, message: line.message } }]);
  }

  /** Read, compute, write with a version guard; on a lost race, read again. */
  async #change(accountId: string | null, id: string, decide: (call: Call, now: number) => NewEvent[]): Promise<Call> {
    for (let i = 0; i < MAX_RACES; i++) {
      const call = await this.#d.store.getCall(accountId, id);
      if (!call) throw new HooklineError('not_found', `no call ${id}`);
      const now = this.#d.clock.now();
      const events = applyEvents(call, decide(call, now), now);
      if ((await this.#commit(call, events, now)) !== null) return call;
    }
    throw new Error(`call ${id}: too many concurrent writers`);
  }

  /** The write of a change (null: another writer changed the call first). */
  async #commit(call: Call, events: CallEvent[], now: number, extra: Partial<CallWrite> = {}, keep?: KeepNext): Promise<CallWrite | null> {
    const expected = call.version;
    call.version += 1;
    const timer = this.#timerFor(call, now);
    const w: CallWrite = {
      call,
      expected_version: expected,
      events,
      timer_due_at: timer,
      deliveries: await this.#d.fanout.plan(call, events, now),
      ...extra,
    };
    if (keep && timer !== null && timer <= now + keep.withinMs) w.timer_lease = { owner: keep.owner, until: now + keep.leaseMs };
    if ((await this.#d.store.writeCall(w)) !== 'written') return null;
    this.#committed(w);
    return w;
  }

  /** After a commit: the loops may have work, and the call's driver may have something to send. */
  #committed(w: CallWrite): void {
    this.#d.onCommit(w);
    if (w.events.length > 0) this.#d.drivers.of(w.call).committed?.(w.call, w.events);
  }

  #timerFor(call: Call, now: number): number | null {
    if (call.status === 'ended') return null;
    return this.#d.drivers.of(call).dueAt(call, now);
  }

  /**
   * Called by the engine when a call's timer is due. With `keep`, a next step due within
   * `keep.withinMs` is written leased to the engine, which plays it itself (engine.ts), and is
   * answered: the call as written (as a read would give it back) and when. `known` is the call
   * as the engine's last step wrote it: no read, unless another writer changed it since.
   */
  async advance(callId: string, keep?: KeepNext, known?: Call): Promise<Kept | null> {
    for (let i = 0; i < MAX_RACES; i++) {
      const call = i === 0 && known ? known : await this.#d.store.getCall(null, callId);
      if (!call) return null;
      const now = this.#d.clock.now();
      const events = call.status === 'ended' ? [] : this.#d.drivers.of(call).due(call, now);
      const w = await this.#commit(call, events, now, {}, keep);
      if (w === null) continue;
      return w.timer_lease && w.timer_due_at !== null ? { call: JSON.parse(JSON.stringify(w.call)) as Call, due: w.timer_due_at } : null;
    }
    throw new Error(`call ${callId}: too many concurrent writers`);
  }

  /** An event from an external switch (SPEC §3): idempotent by the switch's event id. */
  async ingest(accountId: string, ev: IngestInput): Promise<Answer> {
    const [r] = await ingestLine(this.#ingestDeps, accountId, [ev]);
    if (r!.error) throw r!.error;
    return { status: r!.status, call: r!.call! };
  }

  /**
   * A switch adapter's batch: each event as `ingest` takes it alone, in order per call. The
   * events of one call are one write (ingest.ts); the calls go side by side, LINES_PER_WRITE at a
   * time, so their writes share the store's group commits. A bad event (an error in `items`, an
   * impossible transition) is answered on its own and does not stop the others.
   */
  async ingestBatch(accountId: string, items: (IngestInput | HooklineError)[]): Promise<IngestResult[]> {
    const results: IngestResult[] = new Array(items.length);
    const byCall = new Map<string, number[]>();
    items.forEach((item, i) => {
      if (item instanceof HooklineError) {
        results[i] = { status: item.status, error: item };
        return;
      }
      const line = byCall.get(item.call_id);
      if (line) line.push(i);
      else byCall.set(item.call_id, [i]);
    });
    const lines = [...byCall.values()];
    const run = async (line: number[]): Promise<void> => {
      try {
        const out = await ingestLine(this.#ingestDeps, accountId, line.map((i) => items[i] as IngestInput));
        line.forEach((i, k) => (results[i] = out[k]!));
      } catch (err) {
        // An unexpected failure (storage away): nothing of this call's events was stored; each
        // is answered 500, to be sent again; the cause goes to the caller's log once.
        line.forEach((i, k) => {
          results[i] = { status: 500, error: new HooklineError('internal', 'the event could not be stored; send it again'), cause: k === 0 ? err : undefined };
        });
      }
    };
    for (let i = 0; i < lines.length; i += LINES_PER_WRITE) await Promise.all(lines.slice(i, i + LINES_PER_WRITE).map(run));
    return results;
  }

  get #ingestDeps(): IngestDeps {
    return this.#ingest ??= {
      store: this.#d.store, clock: this.#d.clock, blankCall,
      plan: (call, events, now) => this.#d.fanout.plan(call, events, now),
      timerFor: (call, now) => this.#timerFor(call, now),
      committed: (w) => this.#committed(w),
    };
  }
}

function blankCall(accountId: string, kind: CallKind, direction: Direction, from: string, to: string, now: number): Call {
  return {
    id: newId('call', now), number: null, account_id: accountId, kind, direction, from, to,
    bridge: null, channel_id: null, flow_id: null, source: SOURCE[kind], status: 'accepted', outcome: null,
    created_at: now, started_at: null, answered_at: null, ended_at: null, duration: 0, recording_url: null,
    transcript: [], tracking: null, metadata: null, legs: [], error_message: null,
    external_id: null, webhook_id: null, callback: null, driver_state: null, last_seq: 0, version: 0,
  };
}

function newCall(accountId: string, input: CreateCallInput, now: number): Call {
  const direction: Direction = input.kind === 'inbound' ? 'inbound' : 'outbound';
  const call = blankCall(accountId, input.kind, direction, input.from, input.to, now);
  call.bridge = input.bridge ?? null;
  call.flow_id = input.flow_id ?? null;
  if (input.source !== undefined) call.source = input.source;
  call.channel_id = input.channel_id ?? null;
  call.webhook_id = input.webhook_id ?? null;
  call.callback = (input.callback ?? null) as Call['callback'];
  call.metadata = input.metadata ?? null;
  call.tracking = input.tracking ?? null;
  return call;
}
