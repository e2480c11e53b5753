import { HooklineError } from '../../errors.ts';
import type { Call, CallEvent, NewEvent } from '../model.ts';
import type { CreateCallInput } from '../service.ts';

/**
 * What a driver keeps on a call: its name and its own state (the simulator's plan, a SIP dialog),
 * opaque to the model and the reducer. It rides in the call's stored document so that it changes
 * in the same transaction as the events it causes; only the named driver reads `state`.
 */
export interface DriverRecord {
  driver: string;
  state: unknown;
  /** what the driver tells of each leg (a SIP status, reason, Call-ID): shown on the leg in the call's view */
  legs?: Record<string, Record<string, unknown>>;
}

/**
 * One way a call happens (calls/drivers/): the simulator, a switch's ingested events, SIP. The
 * call service places and ends calls through this and knows no driver by name.
 */
export interface CallDriver {
  readonly name: string;
  /** A new API call is this driver's: its starting state (the call has its first events already). */
  place(call: Call, input: CreateCallInput, now: number): DriverRecord;
  /** When the call next needs the driver (its durable timer), or null. */
  dueAt(call: Call, now: number): number | null;
  /** The call's timer is due: applies what happens now to the call and returns the events. */
  due(call: Call, now: number): CallEvent[];
  /** The API hangs up the call (not ended yet): the events that end it. */
  hangup(call: Call, now: number): NewEvent[];
  /** A write of one of its calls was committed: act outside (send a SIP request). Never throws. */
  committed?(call: Call, events: readonly CallEvent[]): void;
  /** On start, before the API listens: take over what the previous run left behind. */
  restore?(): Promise<void>;
  stop?(): Promise<void>;
}

type Legacy = { driver?: unknown; sim?: unknown; driver_state?: DriverRecord | null };

/**
 * The driver record of a call, also of one stored before drivers had records of their own (a
 * `driver: 'sim' | 'external'` string and the simulator's plan in `sim`): it is moved to the new
 * place, so the next write stores the new shape.
 */
export function recordOf(call: Call): DriverRecord {
  const c = call as unknown as Legacy;
  if (!c.driver_state) c.driver_state = { driver: typeof c.driver === 'string' ? c.driver : 'sim', state: c.sim ?? null };
  if ('driver' in c) delete c.driver;
  if ('sim' in c) delete c.sim;
  return c.driver_state;
}

/** The drivers of this run, and which one places a new call. */
export class Drivers {
  readonly #byName = new Map<string, CallDriver>();
  readonly #pick: (input: CreateCallInput) => CallDriver;

  constructor(drivers: CallDriver[], pick: (input: CreateCallInput) => CallDriver) {
    for (const d of drivers) this.#byName.set(d.name, d);
    this.#pick = pick;
  }

  forNew(input: CreateCallInput): CallDriver {
    return this.#pick(input);
  }

  of(call: Call): CallDriver {
    const name = recordOf(call).driver;
    const d = this.#byName.get(name);
    // A SIP call read by a process that runs no SIP user agent (another process's, or a restart without --sip-trunk).
    if (!d) throw new HooklineError('driver_not_running', `call ${call.id} is placed through the ${name} driver, which this process does not run: change it through the process that does`);
    return d;
  }

  get(name: string): CallDriver | undefined {
    return this.#byName.get(name);
  }

  all(): CallDriver[] {
    return [...this.#byName.values()];
  }
}
