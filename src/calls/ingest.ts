import type { Clock } from '../clock.ts';
import { HooklineError } from '../errors.ts';
import type { CallWrite, NewDelivery, Store } from '../store/contract.ts';
import type { Call, CallEvent, CallKind, Direction, EventType, NewEvent, Outcome, Tracking } from './model.ts';
import { legOf } from './model.ts';
import { applyEvents, checkTransition } from './state.ts';
import { recordOf } from './drivers/driver.ts';
import { heardFrom, ingestedRecord } from './drivers/ingestion.ts';

export interface IngestInput {
  event_id: string;
  call_id: string;
  type: EventType;
  occurred_at?: string;
  leg?: string;
  from?: string;
  to?: string;
  direction?: Direction;
  kind?: CallKind;
  channel_id?: string;
  bridge?: string;
  source?: string;
  outcome?: Outcome;
  recording_url?: string;
  message?: string;
  speaker?: string;
  metadata?: Record<string, unknown>;
  tracking?: Tracking;
}

/** One event's result in a batch: the call it changed, or the problem the event alone would have had. */
export interface IngestResult {
  status: number;
  call?: Call;
  error?: HooklineError;
  /** what made an `internal` error, for the log */
  cause?: unknown;
}

export interface IngestDeps {
  store: Store;
  clock: Clock;
  plan(call: Call, events: CallEvent[], now: number): Promise<NewDelivery[]>;
  timerFor(call: Call, now: number): number | null;
  /** after the commit: wakes the loops, tells the driver */
  committed(w: CallWrite): void;
  blankCall(accountId: string, kind: CallKind, direction: Direction, from: string, to: string, now: number): Call;
}

// A line's write loses a race only to another write of the same call (a second request with
// events of the same call, the idle timer); 20 re-reads is far beyond what they can cause.
const MAX_RACES = 20;

/**
 * The events of one external call from one request, applied in order in memory and written as
 * ONE call write: one read of the call, one rewrite of its document and timer, every event,
 * delivery and ingested id together (issue 10: a switch adapter's batch holds whole calls, and a
 * write per event cost five document rewrites and ten point reads per call). Each event is still
 * judged alone: a repeated event_id answers 200 and changes nothing, an impossible transition
 * answers its problem and the events after it go on; each event's deliveries are rendered from
 * the call as that event left it, as they would be one request at a time.
 *
 * A storage failure is thrown: nothing of the line was written.
 */
export async function ingestLine(d: IngestDeps, accountId: string, evs: IngestInput[]): Promise<IngestResult[]> {
  const externalId = evs[0]!.call_id;
  for (let race = 0; race < MAX_RACES; race++) {
    const results: IngestResult[] = new Array(evs.length);
    const seenCall: (string | null)[] = new Array(evs.length).fill(null);
    const existing = await d.store.getCallByExternalId(accountId, externalId);
    if (existing) recordOf(existing);
    let call: Call | undefined = existing;
    const events: CallEvent[] = [];
    const deliveries: NewDelivery[] = [];
    const ids: string[] = [];
    const seqs: number[] = [];
    const taken = new Set<string>();
    let now = d.clock.now();
    for (let i = 0; i < evs.length; i++) {
      const ev = evs[i]!;
      if (taken.has(ev.event_id)) {
        results[i] = { status: 200 };
        continue;
      }
      // A call the store does not know yet has no ingested events to look up, unless an event
      // id was used before for another call (a switch's mistake): then the write is refused as
      // key_taken, and the next pass (race > 0) looks each one up. Saves five point reads per
      // new call in a switch adapter's batch.
      const seen = existing || race > 0 ? await d.store.getIngested(accountId, ev.event_id) : undefined;
      if (seen !== undefined && seen !== existing?.id) {
        // Ingested for another call: not a repeat of this one. Answered 200, the event would be
        // dropped unseen (a switch numbering events per call lost every call after the first).
        const message = `event_id ${ev.event_id} was ingested for another call (${seen}); event ids are unique per account: prefix them with the call's id`;
        results[i] = { status: 409, error: new HooklineError('idempotency_conflict', message, { field: 'event_id' }) };
        continue;
      }
      if (seen !== undefined) {
        results[i] = { status: 200 };
        seenCall[i] = seen;
        continue;
      }
      now = d.clock.now();
      let made: Call | undefined;
      try {
        if (!call) made = newExternalCall(d, accountId, ev, now);
        const c = call ?? made!;
        const nev = eventOf(ev);
        checkTransition(c, nev);
        if (made) made.number = await d.store.nextCallNumber(accountId);
        if (ev.bridge !== undefined) c.bridge = ev.bridge;
        if (ev.source !== undefined) c.source = ev.source;
        if (ev.channel_id !== undefined) c.channel_id = ev.channel_id;
        if (ev.recording_url !== undefined) c.recording_url = ev.recording_url;
        // A switch that reports a leg first as ringing or answered still started it: the formats
        // that announce a call's start (Call.Initiate, `starting`, call_initiated) need that event.
        const batch: NewEvent[] = [];
        const newLeg = nev.leg !== null && legOf(c, nev.leg) === undefined;
        if ((nev.type === 'leg.ringing' || nev.type === 'leg.answered') && newLeg) batch.push({ type: 'leg.initiated', leg: nev.leg, data: {} });
        batch.push(nev);
        const occurred = ev.occurred_at === undefined ? now : Date.parse(ev.occurred_at);
        const applied = applyEvents(c, batch, occurred);
        // A leg a later event adds (an agent, a transfer's target) is the number that event names
        // (`to`), else, on an inbound call, the number called (the caller is the first leg), set
        // before its deliveries are rendered; the call's own from and to stay its first event's.
        if (newLeg && !made && nev.leg !== null && (ev.to !== undefined || c.direction === 'inbound')) legOf(c, nev.leg)!.number = ev.to ?? c.to;
        call = c;
        heardFrom(c, now);
        events.push(...applied);
        deliveries.push(...await d.plan(c, applied, now));
        ids.push(ev.event_id);
        seqs.push(applied[applied.length - 1]!.seq);
        taken.add(ev.event_id);
        results[i] = { status: made ? 201 : 200 };
      } catch (err) {
        if (!(err instanceof HooklineError)) throw err;
        results[i] = { status: err.status, error: err };
      }
    }
    if (events.length > 0) {
      const c = call!;
      const w: CallWrite = {
        call: c, expected_version: existing ? existing.version : null, events,
        timer_due_at: d.timerFor(c, now), deliveries, ingest_event_ids: ids, ingest_seqs: seqs,
      };
      c.version = existing ? existing.version + 1 : 1;
      // 'stale' (the call changed), 'call_exists' (another request made it first), 'key_taken'
      // (another request ingested one of these events first): read again and judge again.
      if ((await d.store.writeCall(w)) !== 'written') continue;
      d.committed(w);
    }
    for (let i = 0; i < evs.length; i++) {
      const r = results[i]!;
      if (r.error) continue;
      const other = seenCall[i] ?? null;
      r.call = other === null || other === call?.id ? call : await d.store.getCall(accountId, other);
    }
    return results;
  }
  throw new Error(`ingest of call ${externalId}: too many concurrent writers`);
}

function eventOf(ev: IngestInput): NewEvent {
  const data: NewEvent['data'] = {};
  if (ev.outcome !== undefined) data.outcome = ev.outcome;
  if (ev.message !== undefined) data.message = ev.message;
  if (ev.speaker !== undefined) data.speaker = ev.speaker;
  if (ev.recording_url !== undefined) data.recording_url = ev.recording_url;
  return { type: ev.type, leg: ev.type.startsWith('leg.') ? (ev.leg ?? 'main') : (ev.leg ?? null), data };
}

function newExternalCall(d: IngestDeps, accountId: string, ev: IngestInput, now: number): Call {
  for (const f of ['from', 'to', 'direction'] as const) {
    if (ev[f] === undefined) {
      throw new HooklineError('missing_field', `${f} is required on the first event of a call`, { field: f, errors: [{ field: f, code: 'missing_field', message: `${f} is required on the first event of a call` }] });
    }
  }
  const direction = ev.direction!;
  const kind: CallKind = ev.kind ?? (direction === 'inbound' ? 'inbound' : 'outbound');
  const call = d.blankCall(accountId, kind, direction, ev.from!, ev.to!, now);
  call.driver_state = ingestedRecord();
  call.external_id = ev.call_id;
  call.metadata = ev.metadata ?? null;
  call.tracking = ev.tracking ?? null;
  return call;
}
