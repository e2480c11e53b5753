import type { Call, CallEvent, NewEvent, Outcome } from '../model.ts';
import { legOf } from '../model.ts';
import type { CreateCallInput, ScenarioInput } from '../service.ts';
import { applyEvents } from '../state.ts';
import type { CallDriver, DriverRecord } from './driver.ts';
import { recordOf } from './driver.ts';

/** One leg's scenario, defaults applied (SPEC §4). */
export interface LegScenario {
  /** inbound: time the caller spends in the IVR before the transfer to an endpoint rings */
  ivr_ms: number;
  ring_ms: number;
  outcome: 'answer' | 'busy' | 'no-answer' | 'failed';
  talk_ms: number;
  transcript: { type: string; message: string }[];
  recording_url: string | null;
}

/** Where the simulator is in a call's scenario; durable with the call so a restart resumes it. */
export interface SimState {
  phase: 'start' | 'ivr' | 'ring' | 'ring_from' | 'ring_to' | 'talk' | 'done';
  /** when the current phase began */
  phase_at: number | null;
  legs: Record<string, LegScenario>;
  talk_started_at: number | null;
  next_line: number;
}

export const SIMULATOR = 'sim';

/** SPEC §4 defaults for a leg the request does not describe. */
export const DEFAULT_SCENARIO: LegScenario = {
  ivr_ms: 0,
  ring_ms: 2000,
  outcome: 'answer',
  talk_ms: 10000,
  transcript: [],
  recording_url: null,
};

export function resolveScenario(input: ScenarioInput | undefined): LegScenario {
  return {
    ivr_ms: input?.ivr_ms ?? DEFAULT_SCENARIO.ivr_ms,
    ring_ms: input?.ring_ms ?? DEFAULT_SCENARIO.ring_ms,
    outcome: input?.outcome ?? DEFAULT_SCENARIO.outcome,
    talk_ms: input?.talk_ms ?? DEFAULT_SCENARIO.talk_ms,
    transcript: input?.transcript ?? [],
    recording_url: input?.recording_url ?? null,
  };
}

export function newSimState(legs: Record<string, LegScenario>): SimState {
  return { phase: 'start', phase_at: null, legs, talk_started_at: null, next_line: 0 };
}

/** The scenario that governs the talk phase: leg `to` on a click-to-call, `main` otherwise. */
function talkScenario(sim: SimState): { talk_ms: number; transcript: LegScenario['transcript']; recording_url: string | null } {
  const main = sim.legs.main;
  if (main) return main;
  const from = sim.legs.from!;
  const to = sim.legs.to!;
  return {
    talk_ms: to.talk_ms,
    transcript: [...from.transcript, ...to.transcript],
    recording_url: to.recording_url ?? from.recording_url,
  };
}

/** When the next transcript line is due: lines are spread evenly across the talk time. */
function lineDueAt(sim: SimState, index: number): number {
  const talk = talkScenario(sim);
  return sim.talk_started_at! + Math.floor((talk.talk_ms * (index + 1)) / (talk.transcript.length + 1));
}

/** The time the call's next transition is due, or null when the scenario is over. */
export function nextDueAt(call: Call): number | null {
  const sim = simOf(call);
  if (!sim || call.status === 'ended') return null;
  switch (sim.phase) {
    case 'start':
      return call.created_at;
    case 'ivr':
      return sim.phase_at! + sim.legs.main!.ivr_ms;
    case 'ring':
      return sim.phase_at! + sim.legs.main!.ring_ms;
    case 'ring_from':
      return sim.phase_at! + sim.legs.from!.ring_ms;
    case 'ring_to':
      return sim.phase_at! + sim.legs.to!.ring_ms;
    case 'talk': {
      const talk = talkScenario(sim);
      if (sim.next_line < talk.transcript.length) return lineDueAt(sim, sim.next_line);
      return sim.talk_started_at! + talk.talk_ms;
    }
    case 'done':
      return null;
  }
}

function failLeg(outcome: LegScenario['outcome'], leg: string): NewEvent[] {
  const events: NewEvent[] = [];
  if (outcome === 'failed') events.push({ type: 'call.error', leg, data: { message: `leg ${leg}: the call could not be connected` } });
  events.push({ type: 'call.ended', leg, data: { outcome: outcome === 'answer' ? 'completed' : outcome } });
  return events;
}

/**
 * The events of the call's next transition, and the phase it moves to. Pure: the caller applies
 * the events and stores the new state in one transaction.
 */
export function step(call: Call, now: number): { events: NewEvent[]; phase: SimState['phase'] } {
  const sim = simOf(call)!;
  switch (sim.phase) {
    case 'start':
      if (sim.legs.main) {
        // An inbound caller may first sit in the IVR: the transfer rings only after ivr_ms.
        if (call.kind === 'inbound' && sim.legs.main.ivr_ms > 0) return { events: [{ type: 'leg.initiated', leg: 'main', data: {} }], phase: 'ivr' };
        return { events: [{ type: 'leg.initiated', leg: 'main', data: {} }, { type: 'leg.ringing', leg: 'main', data: {} }], phase: 'ring' };
      }
      return { events: [{ type: 'leg.initiated', leg: 'from', data: {} }, { type: 'leg.ringing', leg: 'from', data: {} }], phase: 'ring_from' };
    case 'ivr':
      return { events: [{ type: 'leg.ringing', leg: 'main', data: {} }], phase: 'ring' };
    case 'ring': {
      const s = sim.legs.main!;
      if (s.outcome !== 'answer') return { events: failLeg(s.outcome, 'main'), phase: 'done' };
      sim.talk_started_at = now;
      return { events: [{ type: 'leg.answered', leg: 'main', data: {} }], phase: 'talk' };
    }
    case 'ring_from': {
      const s = sim.legs.from!;
      if (s.outcome !== 'answer') return { events: failLeg(s.outcome, 'from'), phase: 'done' };
      return {
        events: [
          { type: 'leg.answered', leg: 'from', data: {} },
          { type: 'leg.initiated', leg: 'to', data: {} },
          { type: 'leg.ringing', leg: 'to', data: {} },
        ],
        phase: 'ring_to',
      };
    }
    case 'ring_to': {
      const s = sim.legs.to!;
      if (s.outcome !== 'answer') return { events: failLeg(s.outcome, 'to'), phase: 'done' };
      sim.talk_started_at = now;
      return { events: [{ type: 'leg.answered', leg: 'to', data: {} }], phase: 'talk' };
    }
    case 'talk': {
      const talk = talkScenario(sim);
      const line = talk.transcript[sim.next_line];
      if (line) {
        sim.next_line += 1;
        return { events: [{ type: 'call.transcript', leg: null, data: { speaker: line.type, message: line.message } }], phase: 'talk' };
      }
      const data = talk.recording_url ? { outcome: 'completed' as const, recording_url: talk.recording_url } : { outcome: 'completed' as const };
      return { events: [{ type: 'call.ended', leg: null, data }], phase: 'done' };
    }
    case 'done':
      return { events: [], phase: 'done' };
  }
}

function simOf(call: Call): SimState | null {
  return recordOf(call).state as SimState | null;
}

/** A new call's plan: the request's `simulate`, SPEC §4's defaults for what it leaves out. */
export function planOf(input: CreateCallInput): DriverRecord {
  let legs: Record<string, LegScenario>;
  if (input.kind === 'click_to_call') {
    const sim = (input.simulate ?? {}) as { from?: ScenarioInput; to?: ScenarioInput };
    legs = { from: resolveScenario(sim.from), to: resolveScenario(sim.to) };
  } else {
    legs = { main: resolveScenario(input.simulate as ScenarioInput | undefined) };
  }
  return { driver: SIMULATOR, state: newSimState(legs) };
}

/**
 * Whether a simulated call was connected: a one-leg call once answered; a click-to-call only
 * once leg `to` answered too (leg `from` answering alone is the agent waiting for the customer).
 */
function isConnected(call: Call): boolean {
  if (call.kind === 'click_to_call') return legOf(call, 'to')?.answered_at != null;
  return call.answered_at !== null;
}

/** The built-in engine: plays each call's scenario on durable timers. */
export const simulatorDriver: CallDriver = {
  name: SIMULATOR,
  place: (_call, input) => planOf(input),
  dueAt: (call) => nextDueAt(call),
  due(call, now) {
    // Several steps may be due at once after a restart: play them all, in order.
    const events: CallEvent[] = [];
    let due = nextDueAt(call);
    while (due !== null && due <= now) {
      const r = step(call, now);
      events.push(...applyEvents(call, r.events, now));
      const sim = simOf(call)!;
      sim.phase = call.status === 'ended' ? 'done' : r.phase;
      sim.phase_at = now;
      due = nextDueAt(call);
    }
    return events;
  },
  hangup(call) {
    const outcome: Outcome = isConnected(call) ? 'completed' : 'cancelled';
    return [{ type: 'call.ended', leg: null, data: { outcome } }];
  },
};
